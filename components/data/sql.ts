/** Literal quoting for SQL text built from user-controlled names and paths (DuckDB dialect). */

export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Column names may hold spaces, parentheses or quotes ("Beak Length (mm)"): always quote them. */
export function sqlIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
