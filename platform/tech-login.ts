/**
 * The tech login contract: what the account page provides to the services that show tech-only pages
 * through the proxy (the metrics UI). The proxy asks it before each request (Traefik's forwardAuth) with
 * the request's `Authorization: Basic` header: a directory member's uid and password.
 */
export interface ForwardAuth {
  /** Where the proxy asks, on the edge network, e.g. `http://account:8081/auth/tech`. */
  address: string;
  /** The header of a 2xx answer naming who logged in, copied onto the request the service receives. */
  userHeader: string;
}

/**
 * The account page's answer: 200 (with the uid in `userHeader`) for a member who may log in to the hosts
 * (tech or admins, access end ahead: docs/security.md), 401 with a Basic challenge without valid
 * credentials, 403 for a valid member without that access, 429 when the client's address made too many
 * failed attempts. The proxy returns any answer but a 2xx to the browser as it is.
 */
export type TechLoginEndpoint = ForwardAuth;
