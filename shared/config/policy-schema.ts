// What every policy's schema file exports (its kebab-case name, the key of its config section, its schema,
// its cross-check) and the helpers that compose a registry of them into a schema. Schema only: a policy's
// factory lives in its runtime module and is listed in the factory registry of its kind, never here.
import { Type, type Static, type TLiteral, type TObject, type TOptional, type TSchema, type TUnion } from '@sinclair/typebox';

/** A problem the schema cannot express, with the path of the field to blame so the loader can point at its line. */
export interface Problem { readonly path: string[]; readonly message: string }

/**
 * One policy's config: `name` is the one name of the concept (config, logs, file name), `key` the field
 * that holds its section. crossCheck sees the section and what its kind tells it of the rest of the file
 * (C), and returns paths relative to the section: the registry's caller knows where the section sits.
 */
export interface PolicySchema<N extends string = string, K extends string = string, S extends TSchema = TSchema, C = never> {
  readonly name: N;
  readonly key: K;
  readonly schema: S;
  readonly crossCheck?: (section: Static<S>, context: C) => Problem[];
  /** Makes the file paths of its section absolute with `resolve` (against the config file's directory), before the config is frozen. */
  readonly resolveFiles?: (section: Static<S>, resolve: (path: string) => string) => void;
}

/** Declares a policy with its literal name and key kept, and its cross-check typed by its schema. */
export function policy<C>() {
  return <const N extends string, const K extends string, S extends TSchema>(p: PolicySchema<N, K, S, C>): PolicySchema<N, K, S, C> => p;
}

/** The names of a registry, in its order. */
export function namesOf<const E extends readonly { readonly name: string }[]>(entries: E): E[number]['name'][] {
  return entries.map((e) => e.name);
}

/** A schema accepting exactly these names, refused with every one of them listed ("expected one of ..."). */
export function oneOf<const N extends string>(names: readonly N[], options: Record<string, unknown> = {}): TUnion<TLiteral<N>[]> {
  return Type.Union(names.map((n) => Type.Literal(n)), options);
}

/** What composing needs of an entry: its key and schema (a registry's cross-checks take different contexts). */
type Composable = { readonly key: string; readonly schema: TSchema };
type Sections<E extends readonly Composable[]> = { [P in E[number] as P['key']]: P['schema'] };
type OptionalSections<E extends readonly Composable[]> = { [P in E[number] as P['key']]: TOptional<P['schema']> };

/** The properties of one section per policy of a registry, under its key, in the registry's order: spread into an object. */
export function sections<const E extends readonly Composable[]>(entries: E): Sections<E> {
  return Object.fromEntries(entries.map((e) => [e.key, e.schema])) as Sections<E>;
}

/** An object with one optional section per policy of a registry, under its key, in the registry's order. */
export function optionalSections<const E extends readonly Composable[]>(entries: E, options: Record<string, unknown>): TObject<OptionalSections<E>> {
  return Type.Object(Object.fromEntries(entries.map((e) => [e.key, Type.Optional(e.schema)])) as OptionalSections<E>, options);
}

/** What a registry's loop sees of an entry: its key, and a cross-check of whatever section sits under it. */
export interface CheckablePolicy<C> {
  readonly key: string;
  readonly crossCheck?: (section: never, context: C) => Problem[];
  readonly resolveFiles?: (section: never, resolve: (path: string) => string) => void;
}

/**
 * Runs a policy's cross-check on its section at `path`, its problems' paths made whole. The caller hands
 * the section found under the policy's own key, which the policy's schema has validated: that is what lets
 * one loop over a registry whose entries take differently typed sections.
 */
export function crossCheckAt<C>(p: CheckablePolicy<C>, section: unknown, path: string[], context: C, problems: Problem[]): void {
  if (section === undefined || p.crossCheck === undefined) return;
  for (const problem of p.crossCheck(section as never, context)) problems.push({ path: [...path, ...problem.path], message: problem.message });
}

/** Resolves the file paths of a policy's section, handed as crossCheckAt's is (the one under its own key). */
export function resolveFilesOf(p: Pick<CheckablePolicy<never>, 'resolveFiles'>, section: unknown, resolve: (path: string) => string): void {
  if (section !== undefined && p.resolveFiles !== undefined) p.resolveFiles(section as never, resolve);
}
