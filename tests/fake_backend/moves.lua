-- Moves between devices mid-run; the run records each one (lundi_run_add_device).
lundi.set_device("fake:0")
lundi.set_device("cpu")
lundi.set_device("fake:0")
print("moved")
