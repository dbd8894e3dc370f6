/**
 * A one-line progress bar on stderr for people (only when stderr is a terminal; plain lines otherwise).
 */
export interface ProgressBar {
  update: (done: number, total: number) => void
  done: () => void
}

export function progressBar (write: (t: string) => void, label: string): ProgressBar {
  const tty = process.stderr.isTTY
  let last = -1
  return {
    update (done, total) {
      const pct = total > 0 ? Math.floor(done / total * 100) : 0
      if (pct === last) return
      last = pct
      if (tty) {
        const width = 30
        const fill = Math.round(pct / 100 * width)
        write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${pct}%`)
      } else if (pct % 25 === 0) {
        write(`${label} ${pct}%\n`)
      }
    },
    done () { if (tty) write('\n') }
  }
}
