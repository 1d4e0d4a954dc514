import type * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { DirectoryEndpoint } from "./directory";
import type { DnsRecord } from "./dns";
import type { HostContext } from "./host-context";
import type { OfficeEndpoint } from "./office";
import type { MailEndpoint } from "./smtp-client";
import type { TechLoginEndpoint } from "./tech-login";

/**
 * The shape every service of `infra:services` shares. A service is declared in its folder's
 * `settings.ts` (zod only, cheap to load: the stack schema reads it) and built by its component. The
 * declaration says what the service needs from the others on the same host and what it provides to
 * them; the program (stacks/program.ts) builds the services in that order and hands each one what it
 * needs, so nothing depends on the order of a list or on a side effect.
 */

/** What a service may provide to the services after it, by name. */
export interface Endpoints {
  directory: DirectoryEndpoint;
  mail: MailEndpoint;
  office: OfficeEndpoint;
  techLogin: TechLoginEndpoint;
}
export type EndpointName = keyof Endpoints;

/**
 * `required`: the stack is invalid unless a service providing it runs on the same host.
 * `optional`: used when it runs here; otherwise the service's own settings say where to find it.
 */
export type Need = "required" | "optional";
export type Needs = Partial<Record<EndpointName, Need>>;

export interface ServiceDeclaration<Settings extends z.ZodType = z.ZodType> {
  /** Key under `infra:services`; also the component's name. */
  name: string;
  /** What people read first: one line on what the service is. */
  summary: string;
  settings: Settings;
  /** Our own images the service runs: production stacks must pin each (`infra:images.pins`). */
  ownImages?: readonly string[];
  needs?: Needs;
  provides?: readonly EndpointName[];
}

/** Declare a service, keeping its literal needs and provides for the component's types. */
export function declareService<const D extends ServiceDeclaration>(declaration: D): D {
  return declaration;
}

type NeedsOf<D> = D extends { needs: infer N } ? N : Record<never, never>;
type Pick2<N, Kind extends Need> = { [K in keyof N & EndpointName as N[K] extends Kind ? K : never]: Endpoints[K] };

/** The endpoints a service receives: required ones always there, optional ones when they run here. */
export type EndpointsFor<D> = Pick2<NeedsOf<D>, "required"> & Partial<Pick2<NeedsOf<D>, "optional">>;

/** What a service component is built from. */
export interface ServiceArgs<D extends ServiceDeclaration> {
  context: HostContext;
  settings: z.output<D["settings"]>;
  endpoints: EndpointsFor<D>;
}

/** What a service component gives back to the program: its public face and what it provides. */
export interface ServiceOutputs {
  urls?: string[];
  dnsRecords?: pulumi.Input<DnsRecord[]>;
  provides?: Partial<Endpoints>;
}
