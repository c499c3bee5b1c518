// HTML pieces every report section uses (a leaf: sections import it, it imports nothing of theirs).

export const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Width of one character of the charts' 11 px labels, for laying text out in SVG. */
export const CHAR_W = 6.2;

/** A table; `head` null for a key/value table (its first column as row headers, no empty header row). */
export const table = (head: string[] | null, rows: (string | number)[][]) =>
  `<table>${head ? `<tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>` : ''}${rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => (head === null && i === 0 ? `<th>${esc(String(c))}</th>` : `<td>${esc(String(c))}</td>`)).join('')}</tr>`,
    )
    .join('')}</table>`;
