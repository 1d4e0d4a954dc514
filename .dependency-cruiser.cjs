/**
 * The layers of the project (README, "How it fits together"): each folder imports only from the layers
 * below it. `npm run lint` fails on any rule below.
 *   platform/                         imports nothing of the project above it
 *   ldap/ mail/ hosts/ account/ backup/ services/<x>/  the services: platform/ and their own folder, never each other
 *   stacks/                           the composition root: services and platform
 *   policy/ ci/ bench/ tests/         consumers at the top
 */
const SERVICE = "(ldap|mail|hosts|account|backup|services/[^/]+)";
const TOP = "(stacks|policy|ci|bench|tests)";

module.exports = {
  forbidden: [
    {
      name: "no-module-cycle",
      comment: "Two modules that import each other (type imports included) cannot be read or loaded one at a time.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-folder-cycle",
      comment: "Folders import each other in one direction only.",
      severity: "error",
      scope: "folder",
      from: {},
      to: { circular: true },
    },
    {
      name: "platform-is-the-ground-floor",
      comment: "platform/ is below every service: it may not import a service, the stacks or a consumer.",
      severity: "error",
      from: { path: "^platform/" },
      to: { path: `^(${SERVICE}|${TOP})/` },
    },
    {
      name: "services-side-by-side",
      comment: "A service uses platform/ and its own folder, never another service's internals or the layers above.",
      severity: "error",
      from: { path: `^${SERVICE}/` },
      to: { path: `^(${SERVICE}|${TOP})/`, pathNot: "^$1/" },
    },
    {
      name: "stacks-below-consumers",
      comment: "The composition root does not import the policy pack, CI helpers, benchmarks or tests.",
      severity: "error",
      from: { path: "^stacks/" },
      to: { path: "^(policy|ci|bench|tests)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js", ".json"] },
  },
};
