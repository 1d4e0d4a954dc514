import { z } from "zod";
import { imageRef, memoryMb } from "../../platform/settings";

/**
 * Traefik 3.6.1 or later: earlier versions fall back to Docker API 1.24 when they cannot negotiate, which
 * Docker Engine 29 refuses, so the proxy would see no container and serve nothing.
 */
export const PROXY_IMAGE = "traefik:v3.6.1";

export const ProxySettings = z
  .strictObject({
    /** `acme`: certificates from Let's Encrypt (production); `self-signed`: Traefik's default certificate (local). */
    tls: z.enum(["acme", "self-signed"]).default("acme"),
    image: imageRef().default(PROXY_IMAGE),
    memoryMb: memoryMb(128),
  })
  .prefault({});

export type ProxyConfig = z.output<typeof ProxySettings>;
