export function tfPaths(): { includeDir: string; libDir: string; libraries: string[] };
