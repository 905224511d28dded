import { z } from '../../kernel/index.js';

/**
 * GeoJSON (RFC 7946) points and polygons in longitude/latitude. PGlite has no PostGIS, so
 * containment is computed here: a bounding-box prefilter in SQL, then the exact test below.
 */
const position = z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)]);
const ring = z
  .array(position)
  .min(4, 'a linear ring needs at least 4 positions')
  .max(100_000)
  .refine((r) => r[0]![0] === r[r.length - 1]![0] && r[0]![1] === r[r.length - 1]![1], 'a linear ring must end where it starts');
const polygonCoordinates = z.array(ring).min(1).max(1000);

export const geometrySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('Point'), coordinates: position }),
  z.object({ type: z.literal('Polygon'), coordinates: polygonCoordinates }),
  z.object({ type: z.literal('MultiPolygon'), coordinates: z.array(polygonCoordinates).min(1).max(1000) }),
]);
export type Geometry = z.infer<typeof geometrySchema>;
type Ring = Array<[number, number]>;

export interface BBox {
  minLon: number;
  minLat: number;
  maxLon: number;
  maxLat: number;
}

export function bbox(geometry: Geometry): BBox {
  const points: Array<[number, number]> =
    geometry.type === 'Point' ? [geometry.coordinates] : geometry.type === 'Polygon' ? geometry.coordinates[0]! : geometry.coordinates.flatMap((p) => p[0]!);
  const lons = points.map((p) => p[0]);
  const lats = points.map((p) => p[1]);
  return { minLon: Math.min(...lons), minLat: Math.min(...lats), maxLon: Math.max(...lons), maxLat: Math.max(...lats) };
}

/** Ray casting: a horizontal ray from the point crosses the ring's edges an odd number of times when inside. */
function inRing(ring: Ring, lon: number, lat: number): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]!;
    const [xj, yj] = ring[j]!;
    if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function inPolygon(rings: Ring[], lon: number, lat: number): boolean {
  // The first ring is the outline, the others are holes.
  return inRing(rings[0]!, lon, lat) && !rings.slice(1).some((hole) => inRing(hole, lon, lat));
}

/** Whether the area of `geometry` contains the point; a Point geometry contains nothing. */
export function containsPoint(geometry: Geometry, lon: number, lat: number): boolean {
  if (geometry.type === 'Polygon') return inPolygon(geometry.coordinates, lon, lat);
  if (geometry.type === 'MultiPolygon') return geometry.coordinates.some((p) => inPolygon(p, lon, lat));
  return false;
}

/** A closed rectangle, for demo data and tests. */
export function rectangle(minLon: number, minLat: number, maxLon: number, maxLat: number): Geometry {
  return {
    type: 'Polygon',
    coordinates: [
      [
        [minLon, minLat],
        [maxLon, minLat],
        [maxLon, maxLat],
        [minLon, maxLat],
        [minLon, minLat],
      ],
    ],
  };
}
