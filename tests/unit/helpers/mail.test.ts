import { describe, expect, it } from "vitest";
import { subjectPattern } from "../../helpers/mail";

/** The mail scenarios find their messages by subject: the pattern must match that subject and nothing else. */
describe("mail test helpers", () => {
  it("subjectPattern matches a subject literally, whatever RegExp characters it holds", () => {
    const subject = "[sieve] filed (1+1) #3 1764596400000.";
    expect(subjectPattern(subject).test(`Subject: ${subject}\r\n`)).toBe(true);
    expect(subjectPattern(subject).test("Subject: s filed 11 #3 17645964000000\r\n")).toBe(false);
    expect(subjectPattern("a.b").test("axb")).toBe(false);
  });
});
