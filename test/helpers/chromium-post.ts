/**
 * What a page's `fetch(url, { method: 'POST', mode: 'no-cors', body })` makes
 * Chromium send to a mail port, byte for byte: the request the line
 * protocols must refuse before the body's commands run.
 */
export function chromiumPost(port: number, body: string): string {
  return [
    'POST / HTTP/1.1',
    `Host: 127.0.0.1:${port}`,
    'Connection: keep-alive',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'sec-ch-ua-platform: "Linux"',
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    'sec-ch-ua: "Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
    'Content-Type: text/plain;charset=UTF-8',
    'sec-ch-ua-mobile: ?0',
    'Accept: */*',
    'Origin: https://attacker.example',
    'Sec-Fetch-Site: cross-site',
    'Sec-Fetch-Mode: no-cors',
    'Sec-Fetch-Dest: empty',
    'Referer: https://attacker.example/',
    'Accept-Encoding: gzip, deflate, br, zstd',
    'Accept-Language: en-US,en;q=0.9',
    '',
    body,
  ].join('\r\n');
}
