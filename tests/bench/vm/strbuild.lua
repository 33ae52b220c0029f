-- Building many short strings with .., then the total length.
local function run(n)
	local total = 0
	local s = ""
	for i = 1, n do
		s = "item " .. i .. ": " .. i * 2 .. "/" .. n
		total = total + #s
	end
	return total
end
print(run(1000000))
