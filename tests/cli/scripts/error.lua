local function inner()
  error("boom")
end
inner()
