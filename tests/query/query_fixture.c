/* query_fixture DB: writes the query tests' fixture store (fixture.h) and prints the five
 * run uuids, one a line, for the CLI tests. */
#include <stdio.h>

#include "fixture.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: query_fixture DB\n");
    return 2;
  }
  char uuids[5][37];
  if (qfix_build(argv[1], uuids) != 0) return 1;
  for (int i = 0; i < 5; i++) printf("%s\n", uuids[i]);
  return 0;
}
