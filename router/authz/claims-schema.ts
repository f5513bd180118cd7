// The claims rule kind of an authz policy: conditions on claims the edge forwarded, and the load-time
// checks of their patterns (size, compiling, catastrophic backtracking). Schema only: matching is
// router/authz/claims.ts's, and a pattern these checks refuse is never compiled.
import { Type, type Static } from '@sinclair/typebox';
import type { Problem } from '../../shared/config/policy-schema.js';
import { authzRule, problem, Strict } from './rule-schema.js';

export const ClaimRuleSchema = Type.Object({
  claim: Type.String({ minLength: 1, description: 'a claim name, or a dotted path such as org.id' }),
  equals: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean()], { description: 'the value the claim must have' })),
  oneOf: Type.Optional(Type.Array(Type.Union([Type.String(), Type.Number()]), { minItems: 1, description: 'the values the claim may have' })),
  pattern: Type.Optional(Type.String({ minLength: 1, description: 'a regular expression tested against a string claim, anchored only as written' })),
}, Strict);

export type ClaimRule = Static<typeof ClaimRuleSchema>;

export const claimsRule = authzRule({
  name: 'claims',
  key: 'claims',
  schema: Type.Array(ClaimRuleSchema, { minItems: 1, description: 'rules on the claims the edge forwarded (forwardClaims), each with exactly one of equals, oneOf or pattern' }),
  crossCheck: (rules) => {
    const problems: Problem[] = [];
    rules.forEach((rule, i) => {
      const at = `claims[${i}] (${rule.claim})`;
      const ops = (['equals', 'oneOf', 'pattern'] as const).filter((op) => rule[op] !== undefined);
      if (ops.length !== 1) problems.push(problem(`${at}: expected exactly one of equals, oneOf, pattern; found ${ops.join(', ') || 'none'}`));
      if (rule.pattern !== undefined) {
        const refused = checkPattern(rule.pattern);
        if (refused) problems.push(problem(`${at}.pattern: ${refused}`));
      }
    });
    return problems;
  },
});

const MAX_PATTERN_LENGTH = 256;
function checkPattern(pattern: string): string | undefined {
  if (pattern.length > MAX_PATTERN_LENGTH) return `expected at most ${MAX_PATTERN_LENGTH} characters, found ${pattern.length}`;
  try { new RegExp(pattern); } catch (err) { return `does not compile: ${(err as Error).message}`; }
  return nestedRepetition(pattern) ? `${JSON.stringify(pattern)} repeats a group that itself repeats or alternates (like (a+)+ or (a|a)*), which can backtrack catastrophically` : undefined;
}

/**
 * Conservative, not exact: refuses any repeated group (*, +, {n,}, {n,m}) whose
 * body holds a quantifier or an alternation anywhere inside, so it also refuses
 * some safe patterns like (ab|cd)+. It does not catch polynomial cases such as
 * \d*\d*\d*; the 256-character cap and short claim values bound those.
 */
function nestedRepetition(pattern: string): boolean {
  const groups: { risky: boolean }[] = [];
  let risky = false; // quantifier or alternation seen at the current level
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') { i++; continue; }
    if (c === '[') { for (i++; i < pattern.length && pattern[i] !== ']'; i++) if (pattern[i] === '\\') i++; continue; }
    if (c === '(') { groups.push({ risky }); risky = false; i += groupKindLength(pattern, i + 1); continue; }
    if (c === ')') {
      const inner: boolean = risky;
      risky = groups.pop()?.risky ?? false;
      const q = quantifierAt(pattern, i + 1);
      if (q.repeats && inner) return true;
      risky ||= inner || q.length > 0;
      i += q.length;
      continue;
    }
    if (c === '|' || quantifierAt(pattern, i).length > 0) risky = true;
  }
  return false;
}

/** (?:  (?=  (?!  (?<=  (?<!  (?<name> : that ? names the group's kind; it is no quantifier. */
function groupKindLength(pattern: string, i: number): number {
  if (pattern[i] !== '?') return 0;
  if (pattern[i + 1] !== '<') return 2;
  if (pattern[i + 2] === '=' || pattern[i + 2] === '!') return 3;
  const close = pattern.indexOf('>', i);
  return close === -1 ? 2 : close - i + 1;
}

/** The quantifier starting at i (with its lazy ?), and whether it can repeat more than once. */
function quantifierAt(pattern: string, i: number): { length: number; repeats: boolean } {
  const c = pattern[i];
  if (c === '*' || c === '+') return { length: pattern[i + 1] === '?' ? 2 : 1, repeats: true };
  if (c === '?') return { length: 1, repeats: false };
  const brace = c === '{' ? /^\{(\d+)(,(\d*))?\}\??/.exec(pattern.slice(i)) : null;
  if (!brace) return { length: 0, repeats: false };
  const max = brace[2] === undefined ? Number(brace[1]) : brace[3] === '' ? Infinity : Number(brace[3]);
  return { length: brace[0].length, repeats: max > 1 };
}
