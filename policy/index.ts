// Policy pack: `pulumi preview --policy-pack policy` enforces the container hardening of platform/container.ts.
import { PolicyPack, type ResourceValidationPolicy, type StackValidationPolicy } from "@pulumi/policy";
import { checkContainer, checkDataIsolation, checkImage, containerRules } from "./rules";

const CONTAINER = "docker:index/container:Container";
const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";

const perContainer: ResourceValidationPolicy[] = containerRules.map((rule) => ({
  name: rule.policy,
  description: rule.description,
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (args.type !== CONTAINER) return;
    for (const v of checkContainer(args.name, args.props)) if (v.policy === rule.policy) reportViolation(v.message);
  },
}));

const pinnedImage: ResourceValidationPolicy = {
  name: "pinned-image",
  description: "Third-party images are pinned by a version tag (and digest where given).",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (args.type !== REMOTE_IMAGE || args.props.build) return;
    for (const v of checkImage(args.name, args.props)) reportViolation(v.message);
  },
};

const dataIsolation: StackValidationPolicy = {
  name: "data-on-internal-networks",
  description: "Databases and caches join only internal networks.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const resources = args.resources.map((r) => ({ type: r.type, name: r.name, inputs: r.props }));
    for (const v of checkDataIsolation(resources)) reportViolation(v.message, v.resource);
  },
};

new PolicyPack("infra-hardening", { policies: [...perContainer, pinnedImage, dataIsolation] });
