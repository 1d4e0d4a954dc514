// Prints, as JSON, the hosts watched from the stack named on the command line (stacks/watched-hosts.ts): what
// its real program run reads, rendered here under the mock runtime, which cannot run inside a real one.
import { renderWatchedHosts } from "./render";

renderWatchedHosts(process.argv[2]).then(
  (hosts) => process.stdout.write(JSON.stringify(hosts)),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
