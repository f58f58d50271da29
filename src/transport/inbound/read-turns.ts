// Fair reading among the sessions of the one event loop. libuv reads up to 32
// chunks of 64 KiB from a socket in one turn of the loop, so a client that
// sends without pause (34 MiB of dot lines) held every other session for up to
// 2 MiB of parsing at a time: under ten such clients ordinary mail went from
// 2,000 to 11 messages a second (docs/benchmarks.md). A session that has had
// its share of a turn stops reading until the next.

/** Input one session may process in a turn. A 100 KB message still arrives in one turn. */
export const TURN_BYTES = 128 * 1024;

let loopTurn = 0;
let counting = false;

/** The event loop's turns, counted only while sessions read: one setImmediate per turn with input. */
export function currentTurn(): number {
  if (!counting) {
    counting = true;
    setImmediate(() => {
      loopTurn++;
      counting = false;
    });
  }
  return loopTurn;
}

/** What one session has read in the current turn. */
export class TurnBudget {
  private turn = -1;
  private bytes = 0;

  constructor(private readonly limit = TURN_BYTES) {}

  /** Counts `n` bytes read now; true once the session has had its share of this turn. */
  spend(n: number): boolean {
    const turn = currentTurn();
    if (turn !== this.turn) {
      this.turn = turn;
      this.bytes = 0;
    }
    return (this.bytes += n) >= this.limit;
  }
}
