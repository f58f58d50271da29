import type { Page } from 'playwright-core';

/** Describes the focused element: role, accessible text and selection, for keyboard-driven tests. */
export function focused(page: Page): Promise<{ role: string; text: string; label: string; inNav: boolean; inGrid: boolean; inToolbar: boolean; selected: string | null }> {
  return page.evaluate(() => {
    const e = document.activeElement as HTMLElement | null;
    return {
      role: e?.getAttribute('role') ?? e?.tagName.toLowerCase() ?? '',
      text: (e?.textContent ?? '').trim(),
      label: e?.getAttribute('aria-label') ?? '',
      inNav: !!e?.closest('nav, [role=navigation]'),
      inGrid: !!e?.closest('[role=grid]'),
      inToolbar: !!e?.closest('[role=toolbar]'),
      selected: e?.closest('[role=row]')?.getAttribute('aria-selected') ?? null,
    };
  });
}

/** Presses `key` until the focused element satisfies `done`; fails after `max` presses. */
export async function pressUntil(page: Page, key: string, done: (f: Awaited<ReturnType<typeof focused>>) => boolean, max = 40): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (done(await focused(page))) return;
    await page.keyboard.press(key);
  }
  const f = await focused(page);
  if (!done(f)) throw new Error(`pressing ${key} ${max} times did not reach the wanted element; focus is on ${JSON.stringify(f)}`);
}
