import { Parser } from 'htmlparser2';
import { startTag } from '../../standalone-html.js';

/**
 * Mailpit's `/view/{id}.html?embed=1` (server/apiv1/testing.go): every link gets
 * `target="_blank"` and `rel="noreferrer noopener"`, so a click in an embedding page's frame
 * opens a new window that learns nothing of the frame. Only the `<a>` start tags are written
 * anew, the rest of the HTML stays as it was. Mailpit also adds a script that posts the page
 * height to its parent; the view's policy runs no script, so none is added.
 */
export function linksInNewWindow(html: string): string {
  const tags: { start: number; end: number; text: string }[] = [];
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        if (name === 'a') tags.push({ start: parser.startIndex, end: parser.endIndex + 1, text: startTag('a', { ...attribs, target: '_blank', rel: 'noreferrer noopener' }) });
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.end(html);
  let out = '';
  let at = 0;
  for (const { start, end, text } of tags) {
    out += html.slice(at, start) + text;
    at = end;
  }
  return out + html.slice(at);
}
