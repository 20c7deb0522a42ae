/** Every failed request becomes an Error whose message a person can read. */
export async function sendCommand(entityId: string, command: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`/api/entities/${encodeURIComponent(entityId)}/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ command }),
    });
  } catch {
    throw new Error('ninho cannot be reached');
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { message?: string };
    throw new Error(body.message ?? `the command failed (HTTP ${response.status})`);
  }
}
