// Layout checks on Grafana's 24-column dashboard grid: panels that overlap, and holes inside the
// layout. Pure: takes panels' gridPos, returns problems as text.
//
// The grid: columns x = 0…23, rows y = 0, 1, … (one row unit is 30 px); a panel covers the cells
// x ≤ cx < x + w, y ≤ cy < y + h.
//
// Overlap: two panels cover a common cell. Grafana then draws one over the other or pushes one
// down, so the file no longer says where a panel is.
//
// Gap: a cell that no panel covers although some panel covers a cell *below it in the same column*
// (same cx, larger cy). Such a cell is either a hole beside a taller panel or an empty band across
// the dashboard; Grafana floats the panels below up into it where they fit, so the layout shown is
// not the layout written, and where they do not fit the board shows an empty slot. Empty cells with
// nothing below them (the ragged bottom edge of the last row) are not gaps.
// Connected gap cells (sharing a side) are reported once, as their bounding box.

export const GRID_COLUMNS = 24;

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface PlacedPanel {
  /** How problems name the panel: `panel 3 "Title"`. */
  name: string;
  gridPos?: Partial<GridPos> | undefined;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Problems with where the panels are: out of the grid, overlapping, gaps. */
export function layoutProblems(panels: readonly PlacedPanel[]): string[] {
  const problems: string[] = [];
  const placed: { name: string; pos: GridPos }[] = [];
  for (const p of panels) {
    const g = p.gridPos;
    if (!g || !isInt(g.x) || !isInt(g.y) || !isInt(g.w) || !isInt(g.h)) {
      problems.push(`${p.name}: gridPos ${JSON.stringify(g)} is not four integers x, y, w, h`);
      continue;
    }
    const pos = { x: g.x, y: g.y, w: g.w, h: g.h };
    if (pos.x < 0 || pos.y < 0 || pos.w < 1 || pos.h < 1 || pos.x + pos.w > GRID_COLUMNS) {
      problems.push(`${p.name}: gridPos ${JSON.stringify(pos)} is outside the ${GRID_COLUMNS}-column grid`);
      continue;
    }
    placed.push({ name: p.name, pos });
  }

  for (let i = 0; i < placed.length; i++) {
    for (let j = i + 1; j < placed.length; j++) {
      const a = placed[i]!.pos;
      const b = placed[j]!.pos;
      const x0 = Math.max(a.x, b.x);
      const x1 = Math.min(a.x + a.w, b.x + b.w);
      const y0 = Math.max(a.y, b.y);
      const y1 = Math.min(a.y + a.h, b.y + b.h);
      if (x0 < x1 && y0 < y1) problems.push(`${placed[i]!.name} and ${placed[j]!.name} overlap at x ${x0}–${x1 - 1}, y ${y0}–${y1 - 1}`);
    }
  }

  const height = Math.max(0, ...placed.map((p) => p.pos.y + p.pos.h));
  const covered = Array.from({ length: height }, () => new Array<boolean>(GRID_COLUMNS).fill(false));
  for (const { pos } of placed) for (let y = pos.y; y < pos.y + pos.h; y++) for (let x = pos.x; x < pos.x + pos.w; x++) covered[y]![x] = true;
  // Lowest covered row per column: an empty cell above it is a gap.
  const lowest = Array.from({ length: GRID_COLUMNS }, (_, x) => {
    for (let y = height - 1; y >= 0; y--) if (covered[y]![x]) return y;
    return -1;
  });
  const isGap = (x: number, y: number) => !covered[y]![x] && y < lowest[x]!;
  const seen = Array.from({ length: height }, () => new Array<boolean>(GRID_COLUMNS).fill(false));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < GRID_COLUMNS; x++) {
      if (seen[y]![x] || !isGap(x, y)) continue;
      // Flood fill one connected gap.
      let [minX, maxX, minY, maxY, cells] = [x, x, y, y, 0];
      const stack: [number, number][] = [[x, y]];
      seen[y]![x] = true;
      while (stack.length) {
        const [cx, cy] = stack.pop()!;
        cells++;
        minX = Math.min(minX, cx);
        maxX = Math.max(maxX, cx);
        minY = Math.min(minY, cy);
        maxY = Math.max(maxY, cy);
        for (const [nx, ny] of [[cx + 1, cy], [cx - 1, cy], [cx, cy + 1], [cx, cy - 1]] as const) {
          if (nx < 0 || nx >= GRID_COLUMNS || ny < 0 || ny >= height || seen[ny]![nx] || !isGap(nx, ny)) continue;
          seen[ny]![nx] = true;
          stack.push([nx, ny]);
        }
      }
      problems.push(`gap of ${cells} empty cells at x ${minX}–${maxX}, y ${minY}–${maxY} (${maxX - minX + 1}×${maxY - minY + 1}) with panels below it`);
    }
  }
  return problems;
}
