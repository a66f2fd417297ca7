// Copies text to the clipboard; resolves false when the browser refuses (insecure origin, denied
// permission) or never answers (unfocused window, pending prompt), so a caller can show it instead.
export async function copyText(text: string, timeoutMs = 3000): Promise<boolean> {
  try {
    await Promise.race([
      navigator.clipboard.writeText(text),
      new Promise((_, reject) => setTimeout(() => reject(new Error('clipboard timeout')), timeoutMs)),
    ]);
    return true;
  } catch (e) {
    console.warn('clipboard unavailable:', e instanceof Error ? e.message : e);
    return false;
  }
}
