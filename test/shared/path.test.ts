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

// Issue 15: forms a servlet container, a lenient UTF-8 decoder or a second decoding would resolve to another path.
test('a path parameter is refused in any segment, raw or encoded, on a dot segment or not', () => {
  for (const bad of ['/public/..;/admin', '/public/.;/admin', '/public/..;x=1/admin', '/public/%2e%2e;/admin', '/admin;x=1', '/admin;jsessionid=1/x', '/a;', '/;/admin', '/admin%3bx', '/admin%3B/x']) {
    assert.equal(normalizeTarget(bad), undefined, bad);
  }
  assert.deepEqual(normalizeTarget('/a?x=1;y=2'), { path: '/a', search: '?x=1;y=2' }, 'the query is not the path');
});

test('escapes that are not valid UTF-8 are refused: overlong forms, lone and truncated bytes, surrogates, beyond U+10FFFF', () => {
  for (const bad of ['/public/%c0%ae%c0%ae/admin', '/%C0%AE', '/%e0%80%ae', '/%f0%80%80%ae', '/%c0%af', '/%c1%9c', '/%80', '/a%bf', '/%c3', '/%e2%82', '/%c3a', '/%ed%a0%80', '/%f4%90%80%80', '/%f8%88%80%80%80', '/%ff']) {
    assert.equal(normalizeTarget(bad), undefined, bad);
  }
  assert.equal(path('/caf%c3%a9/%f0%9f%98%80'), '/caf%C3%A9/%F0%9F%98%80', 'valid UTF-8 is kept encoded');
});

test('an escaped percent followed by two hex digits is refused: a second decoding would make a new escape', () => {
  for (const bad of ['/public/..%252f..%252fadmin', '/..%252F', '/%252e%252e/admin', '/%255c', '/%2561dmin', '/%2500', '/%25%34%31', '/%25%32%46']) {
    assert.equal(normalizeTarget(bad), undefined, bad);
  }
  assert.equal(path('/100%25'), '/100%25', 'a literal percent sign stays');
  assert.equal(path('/100%25off'), '/100%25off');
  assert.equal(path('/%25zz'), '/%25zz');
});

test('decoded control characters are refused, C0, DEL and C1 alike', () => {
  for (const bad of ['/a%01', '/a%0d%0aSet-Cookie:x', '/a%09b', '/a%1f', '/a%7f', '/a%c2%80', '/a%c2%9f']) {
    assert.equal(normalizeTarget(bad), undefined, bad);
  }
  assert.equal(path('/a%c2%a0'), '/a%C2%A0', 'a no-break space is not a control');
});

test('raw bytes outside printable ASCII are refused, as an HTTP/2 :path could carry them', () => {
  for (const bad of ['/caf\u00e9', '/a\u0000', '/a b', '/a\tb', '/\u2215admin', '/a\u007f']) {
    assert.equal(normalizeTarget(bad), undefined, JSON.stringify(bad));
  }
});
