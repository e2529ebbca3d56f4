/* The Push-T block's geometry and the exact coverage of the goal (docs/action.md).
 *
 * The T, in the body's local frame (pixels, y down), as the reference builds it with
 * scale 30, length 4: the bar x in [-60, 60], y in [0, 30] (120 x 30) and the stem
 * x in [-15, 15], y in [30, 120] (30 x 90). The boxes share the edge y = 30 and do not
 * overlap, so the area of a union of the two is the sum, and
 *   area(block T and goal T) = sum over the 4 box pairs of area(box_i and goal box_j),
 * each pair a convex polygon clip (Sutherland-Hodgman). */
#include <math.h>

#include "sim/sim_internal.h"

const double lundi__pusht_box[2][4][2] = {
    {{-60, 30}, {60, 30}, {60, 0}, {-60, 0}},   /* bar, the reference's vertices1 order */
    {{-15, 30}, {-15, 120}, {15, 120}, {15, 30}} /* stem, vertices2 */
};

/* The 9 keypoints of the observation: the bar's 4 corners, the stem's 2 bottom corners, the
 * bar's centre, the stem's centre and the body's centre of gravity. */
const double lundi__pusht_keypoints[LUNDI__PUSHT_KEYPOINTS][2] = {
    {-60, 0}, {60, 0}, {60, 30}, {-60, 30}, {-15, 120}, {15, 120}, {0, 15}, {0, 75}, {0, 45}};

void lundi__pusht_world_boxes(double x, double y, double angle, double out[2][4][2]) {
  double c = cos(angle), s = sin(angle);
  for (int b = 0; b < 2; b++)
    for (int i = 0; i < 4; i++) {
      double lx = lundi__pusht_box[b][i][0], ly = lundi__pusht_box[b][i][1];
      out[b][i][0] = x + c * lx - s * ly;
      out[b][i][1] = y + s * lx + c * ly;
    }
}

double lundi__polygon_area(const double *xy, int n) {
  double a = 0;
  for (int i = 0; i < n; i++) {
    int j = (i + 1) % n;
    a += xy[2 * i] * xy[2 * j + 1] - xy[2 * j] * xy[2 * i + 1];
  }
  return fabs(a) * 0.5;
}

#define MAXV 16 /* two quads clip to at most 8 vertices */

double lundi__convex_overlap(const double *a, int na, const double *b, int nb) {
  double buf[2][MAXV * 2];
  int n = na;
  for (int i = 0; i < na * 2; i++) buf[0][i] = a[i];
  double sb = 0; /* b's winding, so "inside" is the same side for either order */
  for (int i = 0; i < nb; i++) {
    int j = (i + 1) % nb;
    sb += b[2 * i] * b[2 * j + 1] - b[2 * j] * b[2 * i + 1];
  }
  sb = sb >= 0 ? 1 : -1;
  int cur = 0;
  for (int e = 0; e < nb && n > 0; e++) {
    double ex0 = b[2 * e], ey0 = b[2 * e + 1];
    double ex1 = b[2 * ((e + 1) % nb)], ey1 = b[2 * ((e + 1) % nb) + 1];
    const double *in = buf[cur];
    double *out = buf[cur ^ 1];
    int m = 0;
    for (int i = 0; i < n; i++) {
      int j = (i + 1) % n;
      double px = in[2 * i], py = in[2 * i + 1], qx = in[2 * j], qy = in[2 * j + 1];
      double dp = sb * ((ex1 - ex0) * (py - ey0) - (ey1 - ey0) * (px - ex0));
      double dq = sb * ((ex1 - ex0) * (qy - ey0) - (ey1 - ey0) * (qx - ex0));
      if (dp >= 0 && m < MAXV) out[2 * m] = px, out[2 * m + 1] = py, m++;
      if (((dp >= 0) != (dq >= 0)) && m < MAXV) {
        double t = dp / (dp - dq);
        out[2 * m] = px + t * (qx - px), out[2 * m + 1] = py + t * (qy - py), m++;
      }
    }
    n = m;
    cur ^= 1;
  }
  return n >= 3 ? lundi__polygon_area(buf[cur], n) : 0.0;
}

void lundi_pusht_goal(double pose[3]) {
  pose[0] = 256, pose[1] = 256, pose[2] = M_PI / 4;
}

double lundi_pusht_coverage_at(double x, double y, double angle) {
  double blk[2][4][2], goal[2][4][2], g[3];
  lundi_pusht_goal(g);
  lundi__pusht_world_boxes(x, y, angle, blk);
  lundi__pusht_world_boxes(g[0], g[1], g[2], goal);
  double inter = 0, area = 0;
  for (int j = 0; j < 2; j++) {
    area += lundi__polygon_area(&goal[j][0][0], 4);
    for (int i = 0; i < 2; i++) inter += lundi__convex_overlap(&blk[i][0][0], 4, &goal[j][0][0], 4);
  }
  double c = inter / area;
  return c < 0 ? 0 : c > 1 ? 1 : c;
}
