-- One million inserts, then one million lookups, with string keys.
local function run(n)
	local t = {}
	for i = 1, n do
		t["key" .. i] = i
	end
	local sum = 0
	for i = 1, n do
		sum = sum + t["key" .. i]
	end
	return sum
end
print(run(1000000))
