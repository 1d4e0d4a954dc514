import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

/**
 * Building blocks shared by the service schemas, so that every service validates names, addresses,
 * images and memory the same way and says what it expects in the same words.
 */

const HOSTNAME = /^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/;

export const hostname = () => z.string().regex(HOSTNAME, { error: "expected a lower-case DNS name such as cloud.example.org" });

export const email = () => z.email({ error: "expected an email address such as tech@example.org" });

export const memoryMb = (defaultMb: number) =>
  z.int({ error: "expected a whole number of MiB" }).min(16, { error: "expected at least 16 MiB" }).default(defaultMb);

/** `repo:tag` or `repo:tag@sha256:<64 hex>`: never a floating `latest` or a bare name. */
export const imageRef = () =>
  z
    .string()
    .regex(/^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9._-]+)*:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}(@sha256:[a-f0-9]{64})?$/, {
      error: "expected an image pinned by tag, e.g. postgres:16.4-bookworm or postgres:16.4@sha256:<digest>",
    })
    .refine((ref) => !/:latest(@|$)/.test(ref), { error: "the tag 'latest' is not a pin; name a version" });

/**
 * A value that must be encrypted in the stack file (`pulumi config set --secret --path ...`).
 * It becomes a Pulumi secret as soon as it is read, so it can only ever reach resources as a secret.
 * Whether it was encrypted is checked by the config loader (see `secretPaths` in stacks/schema.ts).
 */
export const secretSetting = () =>
  z
    .string()
    .min(1, { error: "expected a non-empty secret" })
    .meta({ secret: true })
    .transform((value) => pulumi.secret(value));
