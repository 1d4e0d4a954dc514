// Child process of bench/plan.ts: render one stack from a cold start, then exit.
import { renderStack } from "../stacks/render";

renderStack(process.argv[2]).then((rendered) => console.log(rendered.resources.length));
