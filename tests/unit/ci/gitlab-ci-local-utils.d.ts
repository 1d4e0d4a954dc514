// gitlab-ci-local ships JavaScript only; this is the one function the pipeline tests borrow from it,
// so that workflow:rules are evaluated by the same `if:` evaluator as the job rules.
declare module "gitlab-ci-local/src/utils.js" {
  export const Utils: {
    evaluateRuleIf(ruleIf: string | undefined, variables: Record<string, string>): boolean;
  };
}
