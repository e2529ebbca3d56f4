/* A shared object that is not a lundi plugin (no entry point): loading it must be refused. */
int not_a_lundi_plugin(int x);
int not_a_lundi_plugin(int x) { return x + 1; }
