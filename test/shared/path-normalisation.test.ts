// The edges of path normalisation that a prefix rule depends on: which escapes
// are decoded, which kept, trailing slashes after dot segments, and the query
// kept apart from the path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeTarget, withoutQuery } from '../../shared/routing/path.js';

const path = (t: string) => normalizeTarget(t)?.path;

test('every unreserved punctuation mark is decoded; any other escape stays encoded, in upper case', () => {
  assert.equal(path('/%7Euser/a%2Db%5Fc'), '/~user/a-b_c');
  assert.equal(path('/%41%5a%30%39'), '/AZ09');
  assert.equal(path('/a%21b%40c%2a'), '/a%21b%40c%2A');
  assert.equal(path('/a%c3%a9'), '/a%C3%A9');
});

test('text around and between escapes is kept', () => {
  assert.equal(path('/x%61y%62z'), '/xaybz');
  assert.equal(path('/%61%62'), '/ab');
  assert.equal(path('/orders/%31/items'), '/orders/1/items');
});

test('an escape needs two hex digits, wherever it is', () => {
  for (const bad of ['/%', '/a%g1', '/a%1g', '/%%41', '/a%', '/x/%2']) assert.equal(normalizeTarget(bad), undefined, bad);
});

test('a trailing slash survives dot segments only when something is left before it', () => {
  assert.equal(path('/a/b/.'), '/a/b/');
  assert.equal(path('/x/../a/'), '/a/');
  assert.equal(path('/a/..'), '/');
  assert.equal(path('/..'), '/');
  assert.equal(path('/.'), '/');
  assert.equal(path('//'), '/');
  assert.equal(path('/a/./b'), '/a/b');
  assert.equal(path('/a/b/../../c'), '/c');
});

test('a slow-path target keeps its query apart, unnormalised', () => {
  assert.deepEqual(normalizeTarget('/a/../b?next=/../admin&x=%2F'), { path: '/b', search: '?next=/../admin&x=%2F' });
  assert.deepEqual(normalizeTarget('/%61?'), { path: '/a', search: '?' });
  assert.deepEqual(normalizeTarget('/x/../a'), { path: '/a', search: '' }, 'no query: an empty search');
  assert.deepEqual(normalizeTarget('/a/%2e?q'), undefined);
});

test('a fragment or backslash in the path is refused, but not in the query', () => {
  assert.equal(normalizeTarget('/a/..#x'), undefined);
  assert.equal(normalizeTarget('/%61\\b'), undefined);
  assert.equal(normalizeTarget('/a/../b\\c'), undefined);
  assert.deepEqual(normalizeTarget('/a?b#c\\d'), { path: '/a', search: '?b#c\\d' });
});

test('withoutQuery drops everything from the first question mark, and nothing without one', () => {
  assert.equal(withoutQuery('/login?token=secret?x'), '/login');
  assert.equal(withoutQuery('/plain'), '/plain');
  assert.equal(withoutQuery('?only'), '');
});
