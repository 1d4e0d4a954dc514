// Entry point of `pulumi up -s <host>`: the stack's outputs are the host's URLs and DNS records.
import { runProgram } from "./program";

export = runProgram();
