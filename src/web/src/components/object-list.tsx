import {
  createTableColumn,
  DataGrid,
  DataGridBody,
  DataGridCell,
  DataGridHeader,
  DataGridHeaderCell,
  DataGridRow,
  type TableColumnDefinition,
  type TableColumnId,
  type TableRowId,
} from '@fluentui/react-components';
import type { KeyboardEvent as ReactKeyboardEvent, ReactNode } from 'react';

export interface Column<T> {
  id: string;
  title: string;
  render(item: T): ReactNode;
  sortValue?(item: T): string | number;
  /** Share of the row's width (default 1). */
  grow?: number;
}

/**
 * A list of directory objects in EAC's style: single selection (click,
 * Space or Enter), open with double-click or Enter on the selected row.
 */
export function ObjectList<T>(props: {
  label: string;
  items: T[];
  columns: Column<T>[];
  getKey(item: T): string;
  selectedKey?: string;
  onSelect(key: string | undefined): void;
  onOpen?(item: T): void;
  empty?: ReactNode;
}) {
  const columns: TableColumnDefinition<T>[] = props.columns.map((c) =>
    createTableColumn<T>({
      columnId: c.id,
      renderHeaderCell: () => c.title,
      renderCell: (item) => c.render(item),
      compare: c.sortValue ? (a, b) => String(c.sortValue!(a)).localeCompare(String(c.sortValue!(b)), undefined, { numeric: true }) : undefined,
    }),
  );
  const grow = new Map(props.columns.map((c) => [c.id, c.grow ?? 1]));
  const cellStyle = (id: TableColumnId) => ({ flexGrow: grow.get(String(id)) ?? 1, flexBasis: 0, minWidth: 0, overflowWrap: 'anywhere' as const, paddingTop: 6, paddingBottom: 6 });
  const selected = new Set<TableRowId>(props.selectedKey ? [props.selectedKey] : []);
  const byKey = new Map(props.items.map((i) => [props.getKey(i), i]));
  return (
    <div>
      <DataGrid
        items={props.items}
        columns={columns}
        getRowId={(i: T) => props.getKey(i)}
        selectionMode="single"
        selectedItems={selected}
        onSelectionChange={(_, d) => props.onSelect([...d.selectedItems][0] as string | undefined)}
        focusMode="composite"
        sortable
        aria-label={props.label}
        style={{ minWidth: 0 }}
      >
        <DataGridHeader>
          <DataGridRow selectionCell={{ radioIndicator: { 'aria-label': 'Select row' } }}>
            {({ renderHeaderCell, columnId }) => <DataGridHeaderCell style={cellStyle(columnId)}>{renderHeaderCell()}</DataGridHeaderCell>}
          </DataGridRow>
        </DataGridHeader>
        <DataGridBody<T>>
          {({ item, rowId }) => (
            <DataGridRow<T>
              key={rowId}
              data-key={rowId}
              selectionCell={{ radioIndicator: { 'aria-label': `Select ${props.getKey(item)}` } }}
              onDoubleClick={() => props.onOpen?.(item)}
              onKeyDown={(e: ReactKeyboardEvent) => {
                if (e.key === 'Enter' && props.onOpen && byKey.get(String(rowId))) {
                  props.onSelect(String(rowId));
                  props.onOpen(item);
                }
              }}
            >
              {({ renderCell, columnId }) => <DataGridCell style={cellStyle(columnId)}>{renderCell(item)}</DataGridCell>}
            </DataGridRow>
          )}
        </DataGridBody>
      </DataGrid>
      {props.items.length === 0 && <div style={{ padding: '16px 8px', color: '#616161' }}>{props.empty ?? 'There are no items to show in this view.'}</div>}
    </div>
  );
}
