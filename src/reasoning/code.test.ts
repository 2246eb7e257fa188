import { describe, expect, it } from 'vitest';
import { extractCode } from './code';

describe('extractCode', () => {
  it.each([
    ['<think>```python\nthinking()\n```</think>\nHere:\n```python\ndef f():\n\treturn 1\n```\n', 'def f():\n\treturn 1'],
    ['```python\na = 1\n```\n```python\nb = 2\n```', 'a = 1'], // the first python block
    ['```cpp\nint x;\n```\n```python\nx = 1\n```', 'x = 1'], // python preferred
    ['```\nprint(1)\n```', 'print(1)'], // fallback: any fenced block
    ['```py\nprint(2)\n```', 'print(2)'],
    ['```python\nunclosed = True\n', 'unclosed = True'],
    ['```python  \n  indented\n\n```', '  indented'],
    ['no code at all', null],
    ['<think>```python\nx\n```</think> no code after thinking', null],
  ])('%j -> %j', (text, expected) => {
    expect(extractCode(text)).toBe(expected);
  });
});
