// The path routing and authorisation decide on is the path the backend gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeTarget } from '../../shared/routing/path.js';

const path = (t: string) => normalizeTarget(t)?.path;

test('plain paths and queries pass unchanged', () => {
  assert.deepEqual(normalizeTarget('/orders/1?x=%2F&y=..'), { path: '/orders/1', search: '?x=%2F&y=..' });
  assert.equal(path('/'), '/');
});

test('dot segments resolve and repeated slashes merge, as the backend would see them', () => {
  assert.equal(path('/public/../admin'), '/admin');
  assert.equal(path('//admin'), '/admin');
  assert.equal(path('/public//..//admin'), '/admin');
  assert.equal(path('/./admin'), '/admin');
  assert.equal(path('/a/b/..'), '/a/');
  assert.equal(path('/../../etc/passwd'), '/etc/passwd');
  assert.equal(path('/a/'), '/a/');
});

test('encoded unreserved characters are decoded so they cannot dodge a prefix rule', () => {
  assert.equal(path('/%61dmin'), '/admin');
  assert.equal(path('/a%20b'), '/a%20b');
  assert.equal(path('/a%3fb'), '/a%3Fb');
});

test('encoded slash, backslash, encoded dot, NUL, bad escapes and non-origin forms are refused', () => {
  for (const bad of ['/public%2F..%2Fadmin', '/public/%2e%2e/admin', '/public/%2E%2E%2Fadmin', '/admin%2fsecret', '/a\\b', '/a%5cb', '/a%00', '/a%zz', '/a%4', '*', 'http://169.254.169.254/', 'admin', '/a#frag']) {
    assert.equal(normalizeTarget(bad), undefined, bad);
  }
});
