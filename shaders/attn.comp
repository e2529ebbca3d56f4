#version 450
// Placeholder: being written.
layout(local_size_x_id = 0) in;
void main() {}
