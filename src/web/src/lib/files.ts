/** A picked file's bytes as base64, for the wire's `{"$bytes": …}`. */
export function readFileBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onerror = () => reject(r.error);
    r.onload = () => {
      const url = String(r.result);
      resolve(url.slice(url.indexOf(',') + 1));
    };
    r.readAsDataURL(file);
  });
}

/** Offers bytes (base64) or text to the browser as a download. */
export function download(name: string, data: { base64?: string; text?: string }, type = 'application/octet-stream') {
  const blob = data.base64 !== undefined ? new Blob([Uint8Array.from(atob(data.base64), (c) => c.charCodeAt(0))], { type }) : new Blob([data.text ?? ''], { type: 'text/plain' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
