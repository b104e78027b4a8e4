#include "cgroup/convert.h"

#include <math.h>

uint64_t vs_cgroup_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	if (shares <= 2)
		return 1;
	if (shares >= 262144)
		return 10000;
	double l = log2((double)shares);
	double exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
	return (uint64_t)ceil(pow(10, exponent));
}

uint64_t vs_cgroup_weight_to_shares(uint64_t weight)
{
	if (weight == 0)
		return 0;
	if (weight <= 1)
		return 2;
	if (weight >= 10000)
		return 262144;
	/* Solve l^2 + 125 l - 612 (log10(w) + 7/34) = 0 for l = log2(shares),
	 * then settle on the largest shares that maps to weight: many shares
	 * values share a weight, and the largest makes 100 -> 1024 (the
	 * defaults) exact. */
	double c = 612.0 * (log10((double)weight) + 7.0 / 34.0);
	double l = (-125.0 + sqrt(125.0 * 125.0 + 4.0 * c)) / 2.0;
	uint64_t s = (uint64_t)floor(pow(2, l));
	if (s < 2)
		s = 2;
	while (s > 2 && vs_cgroup_shares_to_weight(s) > weight)
		s--;
	while (s < 262144 && vs_cgroup_shares_to_weight(s + 1) <= weight)
		s++;
	return s;
}

uint64_t vs_cgroup_blkio_to_io_weight(uint64_t weight)
{
	if (weight == 0)
		return 0;
	if (weight < 10)
		weight = 10;
	if (weight > 1000)
		weight = 1000;
	return 1 + (weight - 10) * 9999 / 990;
}

int vs_cgroup_swap_to_v2(bool swap_set, int64_t swap, bool limit_set, int64_t limit, bool *set,
			 int64_t *out, vs_err *err)
{
	*set = false;
	*out = 0;
	if (limit_set && limit == -1 && (!swap_set || swap == 0)) {
		*set = true;
		*out = -1;
		return 0;
	}
	if (!swap_set || swap == 0)
		return 0;
	*set = true;
	if (swap == -1) {
		*out = -1;
		return 0;
	}
	if (!limit_set || limit <= 0)
		return vs_fail(
			err, 0,
			"memory.swap: setting memory+swap on cgroup v2 needs memory.limit too");
	if (swap < limit)
		return vs_fail(
			err, 0,
			"memory.swap: memory+swap (%lld) must not be below memory.limit (%lld)",
			(long long)swap, (long long)limit);
	*out = swap - limit;
	return 0;
}
