import { z } from "zod";
import { imageRef, memoryMb } from "../../platform/settings";

export const PROXY_IMAGE = "traefik:v3.3.5";

export const ProxySettings = z
  .strictObject({
    /** `acme`: certificates from Let's Encrypt (production); `self-signed`: Traefik's default certificate (local). */
    tls: z.enum(["acme", "self-signed"]).default("acme"),
    image: imageRef().default(PROXY_IMAGE),
    memoryMb: memoryMb(128),
  })
  .prefault({});

export type ProxyConfig = z.output<typeof ProxySettings>;
