/** Object keys every ObjectStore must refuse, with what its error must say: shared by the store suites. */
export const BAD_OBJECT_KEYS: [string, RegExp][] = [
  ['', /non-empty/],
  ['../escape', /"\.\." segments/],
  ['a/../../etc/passwd', /"\.\." segments/],
  ['a/./b', /"\." segments/],
  ['/etc/passwd', /absolute/],
  ['C:/x', /absolute/],
  ['a//b', /empty path segment/],
  ['a/', /must not end with/],
  ['a\\b', /backslash/],
  ['a\0b', /NUL/],
  ['.tmp/x', /reserved/],
];
