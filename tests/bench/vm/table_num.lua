-- One million inserts, then one million lookups, with number keys: the
-- array part (1..n) and the hash part (multiples of 7, inserted backwards).
local function run(n)
	local arr = {}
	local hash = {}
	for i = 1, n do
		arr[i] = i
		hash[(n - i) * 7] = i
	end
	local sum = 0
	for i = 1, n do
		sum = sum + arr[i] + hash[(n - i) * 7]
	end
	return sum
end
print(run(1000000))
