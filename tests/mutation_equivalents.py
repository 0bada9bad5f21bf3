"""The bundled policies' mutants that no claim can tell apart from the policy (tests/mutate_policies.py):
each with the argument why. A survivor not listed here is a missing test; a listed one that is no longer
a mutant (the policy changed) is stale: tests/test_policy_mutation.py checks both."""

EQUIVALENT = {
    "anhui-bengbu/resident-2025.policy:95: `0%` -> `1%`":
        "the branch is reached only for care in the city, where the cut is 0% and the ratios are at least 65%: max(1%, ratio - 0%) is unchanged",
    "anhui-bengbu/resident-2025.policy:95: `-` -> `+`":
        "the cut is 0% on this branch: ratio + 0% = ratio - 0%",
    "anhui-bengbu/resident-2025.policy:114: `0 yuan` -> `1 yuan`":
        "major illness here is a 0% band under a 0 cap that incentives cannot raise (20% of 0): it pays 0 whichever one is raised",
    "anhui-bengbu/resident-2025.policy:122: `0%` -> `1%`":
        "major illness here is a 0% band under a 0 cap that incentives cannot raise (20% of 0): it pays 0 whichever one is raised",
    "anhui-bengbu/resident-2025.policy:137: `0 yuan` -> `1 yuan`":
        "assistance here is clamped to a cap of 0 (unknown): 0 whatever its threshold or ratio",
    "anhui-bengbu/resident-2025.policy:144: `0%` -> `1%`":
        "assistance here is clamped to a cap of 0 (unknown): 0 whatever its threshold or ratio",
    "chongqing-yubei/resident-2025.policy:72: `0 yuan` -> `1 yuan`":
        "major illness here is a 0% band under a 0 cap that incentives cannot raise (20% of 0): it pays 0 whichever one is raised",
    "chongqing-yubei/resident-2025.policy:80: `0%` -> `1%`":
        "major illness here is a 0% band under a 0 cap that incentives cannot raise (20% of 0): it pays 0 whichever one is raised",
    "chongqing-yubei/resident-2025.policy:98: `0%` -> `1%`":
        "reaches only the groups other than 低保边缘, whose assistance room is max(0, 0 - ytd) = 0",
    "chongqing-yubei/resident-2025.policy:112: `0 yuan` -> `1 yuan`":
        "reaches only the groups other than 低保边缘, whose assistance room is max(0, 0 - ytd) = 0",
    "chongqing-yubei/resident-2025.policy:159: `-` -> `+`":
        "低保边缘's threshold is 0 (x + 0 = x - 0); the other groups are clamped to a room of 0",
    "example/resident-2025.policy:52: `0 yuan` -> `1 yuan`":
        "an accumulator's opening is read only when claims are carried (a single claim gives every value before it): no test beside a policy can see it; tests/test_audit_mutations.py catches it through the README's person-year example",
    "example/resident-2025.policy:56: `0 yuan` -> `1 yuan`":
        "an accumulator's opening is read only when claims are carried (a single claim gives every value before it): no test beside a policy can see it; tests/test_audit_mutations.py catches it through the README's person-year example",
    "example/resident-2025.policy:60: `0 yuan` -> `1 yuan`":
        "an accumulator's opening is read only when claims are carried (a single claim gives every value before it): no test beside a policy can see it; tests/test_audit_mutations.py catches it through the README's person-year example",
    "example/resident-2025.policy:252: `0 yuan` -> `1 yuan`":
        "the table's default row is read only for assistance_object and low_income, which have rows of their own",
    "example/resident-2025.policy:287: `and` -> `or`":
        "weakens an invariant that always holds (each layer is a min, max or clamp of amounts that are never negative): no claim breaks either",
    "example/worker-2025.policy:29: `0 yuan` -> `1 yuan`":
        "an accumulator's opening is read only when claims are carried (a single claim gives every value before it): no test beside a policy can see it; tests/test_audit_mutations.py catches it through the README's person-year example",
    "example/worker-2025.policy:33: `0 yuan` -> `1 yuan`":
        "an accumulator's opening is read only when claims are carried (a single claim gives every value before it): no test beside a policy can see it; tests/test_audit_mutations.py catches it through the README's person-year example",
    "example/worker-2025.policy:84: `<` -> `<=`":
        "weakens the invariant account_never_negative, which always holds: a balance is never negative (F302) and account_paid <= max(0, balance)",
    "example/worker-2025.policy:84: `0 yuan` -> `1 yuan`":
        "weakens the invariant account_never_negative, which always holds: a balance is never negative (F302) and account_paid <= max(0, balance)",
    "guangdong-guangzhou/resident-2025.policy:40: `0%` -> `1%`":
        "the basic fund's ratio (0%) and cap (0 yuan) are both unknown here: min(amount x ratio, room) is 0 whichever one is raised",
    "guangdong-guangzhou/resident-2025.policy:46: `0 yuan` -> `1 yuan`":
        "the basic fund's ratio (0%) and cap (0 yuan) are both unknown here: min(amount x ratio, room) is 0 whichever one is raised",
    "guangdong-guangzhou/resident-2025.policy:65: `-` -> `+`":
        "deductible_borne = min(fund_scope, 0 yuan) is 0 (money is never negative): x + 0 = x - 0",
    "guangdong-guangzhou/resident-2025.policy:76: `0 yuan` -> `1 yuan`":
        "major illness here is a 0% band under a 0 cap that incentives cannot raise (20% of 0): it pays 0 whichever one is raised",
    "guangdong-guangzhou/resident-2025.policy:84: `0%` -> `1%`":
        "major illness here is a 0% band under a 0 cap that incentives cannot raise (20% of 0): it pays 0 whichever one is raised",
    "guangdong-guangzhou/resident-2025.policy:100: `0 yuan` -> `1 yuan`":
        "assistance here is clamped to a cap of 0 (unknown): 0 whatever its threshold or ratio",
    "guangdong-guangzhou/resident-2025.policy:107: `0%` -> `1%`":
        "assistance here is clamped to a cap of 0 (unknown): 0 whatever its threshold or ratio",
    "hunan-shaoyang/resident-2025.policy:57: `half_up` -> `down`":
        "11,000 x 50% = 5,500 exactly: nothing to round",
    "hunan-shaoyang/resident-2025.policy:160: `0 yuan` -> `1 yuan`":
        "400,000 + incentive (never negative) - lapse_cut (always 0 here) never comes near 1 yuan, and x + 0 = x - 0",
    "hunan-shaoyang/resident-2025.policy:160: `-` -> `+`":
        "400,000 + incentive (never negative) - lapse_cut (always 0 here) never comes near 1 yuan, and x + 0 = x - 0",
    "hunan-shaoyang/resident-2025.policy:178: `0%` -> `1%`":
        "the basic fund's ratio (0%) and cap (0 yuan) are both unknown here: min(amount x ratio, room) is 0 whichever one is raised",
    "hunan-shaoyang/resident-2025.policy:184: `0 yuan` -> `1 yuan`":
        "the basic fund's ratio (0%) and cap (0 yuan) are both unknown here: min(amount x ratio, room) is 0 whichever one is raised",
    "hunan-shaoyang/resident-2025.policy:190: `0 yuan` -> `1 yuan`":
        "assistance here is clamped to a cap of 0 (unknown): 0 whatever its threshold or ratio",
    "hunan-shaoyang/resident-2025.policy:197: `0%` -> `1%`":
        "assistance here is clamped to a cap of 0 (unknown): 0 whatever its threshold or ratio",
    "inner-mongolia/resident-2025.policy:45: `0%` -> `1%`":
        "the basic fund's ratio (0%) and cap (0 yuan) are both unknown here: min(amount x ratio, room) is 0 whichever one is raised",
    "inner-mongolia/resident-2025.policy:51: `0 yuan` -> `1 yuan`":
        "the basic fund's ratio (0%) and cap (0 yuan) are both unknown here: min(amount x ratio, room) is 0 whichever one is raised",
    "inner-mongolia/resident-2025.policy:58: `0 yuan` -> `1 yuan`":
        "major illness here is a 0% band under a 0 cap that incentives cannot raise (20% of 0): it pays 0 whichever one is raised",
    "inner-mongolia/resident-2025.policy:66: `0%` -> `1%`":
        "major illness here is a 0% band under a 0 cap that incentives cannot raise (20% of 0): it pays 0 whichever one is raised",
    "inner-mongolia/resident-2025.policy:81: `0 yuan` -> `1 yuan`":
        "assistance here is clamped to a cap of 0 (unknown): 0 whatever its threshold or ratio",
    "inner-mongolia/resident-2025.policy:88: `0%` -> `1%`":
        "assistance here is clamped to a cap of 0 (unknown): 0 whatever its threshold or ratio",
    "jiangxi/resident-2025.policy:109: `half_up` -> `down`":
        "34,000 x 50% = 17,000 exactly: nothing to round",
    "jiangxi/resident-2025.policy:137: `half_up` -> `down`":
        "17,000 x 50% = 8,500 exactly: nothing to round",
    "jiangxi/resident-2025.policy:243: `0%` -> `1%`":
        "the basic fund's ratio (0%) and cap (0 yuan) are both unknown here: min(amount x ratio, room) is 0 whichever one is raised (Nanchang, which extends Jiangxi, sets its own)",
    "jiangxi/resident-2025.policy:249: `0 yuan` -> `1 yuan`":
        "the basic fund's ratio (0%) and cap (0 yuan) are both unknown here: min(amount x ratio, room) is 0 whichever one is raised (Nanchang, which extends Jiangxi, sets its own)",
    "jiangxi/resident-2025.policy:260: `0 yuan` -> `1 yuan`":
        "assistance here is clamped to a cap of 0 (unknown): 0 whatever its threshold or ratio (in Nanchang too, which inherits it)",
    "jiangxi/resident-2025.policy:267: `0%` -> `1%`":
        "assistance here is clamped to a cap of 0 (unknown): 0 whatever its threshold or ratio (in Nanchang too, which inherits it)",
    "jiangxi-nanchang/resident-2025.policy:119: `0%` -> `1%`":
        "the cross-province cuts are 0% (Jiangxi sets both, Nanchang keeps them) and the ratios at least 60%: max(1%, ratio - 0%) and ratio + 0% change nothing",
    "jiangxi-nanchang/resident-2025.policy:119: `-` -> `+`":
        "the cross-province cuts are 0% (Jiangxi sets both, Nanchang keeps them) and the ratios at least 60%: max(1%, ratio - 0%) and ratio + 0% change nothing",
    "jiangxi-nanchang/resident-2025.policy:124: `0%` -> `1%`":
        "the cross-province cuts are 0% (Jiangxi sets both, Nanchang keeps them) and the ratios at least 60%: max(1%, ratio - 0%) and ratio + 0% change nothing",
    "jiangxi-nanchang/resident-2025.policy:124: `-` -> `+`":
        "the cross-province cuts are 0% (Jiangxi sets both, Nanchang keeps them) and the ratios at least 60%: max(1%, ratio - 0%) and ratio + 0% change nothing",
    "national/baseline-2025.policy:151: `0 yuan` -> `1 yuan`":
        "an accumulator's opening is read only when claims are carried (a single claim gives every value before it): no test beside a policy can see it; tests/test_audit_mutations.py catches it through the README's person-year example",
    "national/baseline-2025.policy:156: `0 yuan` -> `1 yuan`":
        "an accumulator's opening is read only when claims are carried (a single claim gives every value before it): no test beside a policy can see it; tests/test_audit_mutations.py catches it through the README's person-year example",
    "national/baseline-2025.policy:161: `0 yuan` -> `1 yuan`":
        "an accumulator's opening is read only when claims are carried (a single claim gives every value before it): no test beside a policy can see it; tests/test_audit_mutations.py catches it through the README's person-year example",
    "national/baseline-2025.policy:166: `0 yuan` -> `1 yuan`":
        "an accumulator's opening is read only when claims are carried (a single claim gives every value before it): no test beside a policy can see it; tests/test_audit_mutations.py catches it through the README's person-year example",
    "national/baseline-2025.policy:450: `half_up` -> `down`":
        "every region's major-illness cap x 20% is a whole fen (caps of 0, 200,000, 250,000, 300,000, 400,000; Yutian has its own rule): nothing to round; a region with another cap would tell it apart",
    "national/baseline-2025.policy:508: `70%` -> `71%`":
        "every region that uses the frame's assistance rule sets its cap to 0 (unknown): clamp(..., 0, 0) is 0; a region with a known cap would tell it apart",
    "national/baseline-2025.policy:512: `70%` -> `71%`":
        "every region that uses the frame's assistance rule sets its cap to 0 (unknown): clamp(..., 0, 0) is 0; a region with a known cap would tell it apart",
    "national/baseline-2025.policy:538: `-` -> `+`":
        "every region that uses the frame's assistance rule sets its cap to 0 (unknown): clamp(..., 0, 0) is 0; a region with a known cap would tell it apart",
    "national/baseline-2025.policy:556: `-` -> `+`":
        "every region that uses the frame's assistance rule sets its cap to 0 (unknown): clamp(..., 0, 0) is 0; a region with a known cap would tell it apart",
    "national/baseline-2025.policy:558: `0 yuan` -> `1 yuan`":
        "every region that uses the frame's assistance rule sets its cap to 0 (unknown): clamp(..., 0, 0) is 0; a region with a known cap would tell it apart",
    "national/baseline-2025.policy:561: `half_up` -> `down`":
        "every region that uses the frame's assistance rule sets its cap to 0 (unknown): clamp(..., 0, 0) is 0; a region with a known cap would tell it apart",
    "national/baseline-2025.policy:581: `and` -> `or`":
        "weakens an invariant that always holds (each layer is a min, max or clamp of amounts that are never negative): no claim breaks either",
    "national/baseline-2025.policy:585: `+` -> `-`":
        "major and assistance are never negative, so the sum with `-` is never larger: it weakens an invariant that always holds",
    "shandong/resident-2025.policy:98: `0%` -> `1%`":
        "the basic fund's ratio (0%) and cap (0 yuan) are both unknown here: min(amount x ratio, room) is 0 whichever one is raised",
    "shandong/resident-2025.policy:104: `0 yuan` -> `1 yuan`":
        "the basic fund's ratio (0%) and cap (0 yuan) are both unknown here: min(amount x ratio, room) is 0 whichever one is raised",
    "shandong/resident-2025.policy:114: `0 yuan` -> `1 yuan`":
        "assistance here is clamped to a cap of 0 (unknown): 0 whatever its threshold or ratio",
    "shandong/resident-2025.policy:121: `0%` -> `1%`":
        "assistance here is clamped to a cap of 0 (unknown): 0 whatever its threshold or ratio",
    "shanxi-yongji/resident-2025.policy:171: `0 yuan` -> `1 yuan`":
        "400,000 + incentive (never negative) - lapse_cut (0) never comes near the floor of 1 yuan",
    "shanxi-yongji/resident-2025.policy:171: `-` -> `+`":
        "Yongji's lapse_cut is the national rule, always 0 yuan here: x + 0 = x - 0",
    "shanxi-yongji/resident-2025.policy:189: `0%` -> `1%`":
        "the basic fund's ratio (0%) and cap (0 yuan) are both unknown here: min(amount x ratio, room) is 0 whichever one is raised",
    "shanxi-yongji/resident-2025.policy:195: `0 yuan` -> `1 yuan`":
        "the basic fund's ratio (0%) and cap (0 yuan) are both unknown here: min(amount x ratio, room) is 0 whichever one is raised",
    "shanxi-yongji/resident-2025.policy:201: `0 yuan` -> `1 yuan`":
        "assistance here is clamped to a cap of 0 (unknown): 0 whatever its threshold or ratio",
    "shanxi-yongji/resident-2025.policy:208: `0%` -> `1%`":
        "assistance here is clamped to a cap of 0 (unknown): 0 whatever its threshold or ratio",
    "sichuan/resident-2025.policy:69: `0%` -> `1%`":
        "the basic fund's ratio (0%) and cap (0 yuan) are both unknown here: min(amount x ratio, room) is 0 whichever one is raised",
    "sichuan/resident-2025.policy:75: `0 yuan` -> `1 yuan`":
        "the basic fund's ratio (0%) and cap (0 yuan) are both unknown here: min(amount x ratio, room) is 0 whichever one is raised",
    "sichuan/resident-2025.policy:84: `0 yuan` -> `1 yuan`":
        "the only major-illness band pays 0%: major is 0 wherever the band starts",
    "sichuan/resident-2025.policy:104: `0 yuan` -> `1 yuan`":
        "assistance here is clamped to a cap of 0 (unknown): 0 whatever its threshold or ratio",
    "sichuan/resident-2025.policy:111: `0%` -> `1%`":
        "assistance here is clamped to a cap of 0 (unknown): 0 whatever its threshold or ratio",
    "xinjiang-yutian/resident-2025.policy:158: `0%` -> `1%`":
        "the basic fund's ratio (0%) and cap (0 yuan) are both unknown here: min(amount x ratio, room) is 0 whichever one is raised",
    "xinjiang-yutian/resident-2025.policy:164: `0 yuan` -> `1 yuan`":
        "the basic fund's ratio (0%) and cap (0 yuan) are both unknown here: min(amount x ratio, room) is 0 whichever one is raised",
    "xinjiang-yutian/resident-2025.policy:170: `0 yuan` -> `1 yuan`":
        "assistance here is clamped to a cap of 0 (unknown): 0 whatever its threshold or ratio",
    "xinjiang-yutian/resident-2025.policy:177: `0%` -> `1%`":
        "assistance here is clamped to a cap of 0 (unknown): 0 whatever its threshold or ratio",
    "zhejiang-ningbo/resident-2025.policy:77: `0 yuan` -> `1 yuan`":
        "the only major-illness band pays 0%: major is 0 wherever the band starts",
    "zhejiang-ningbo/resident-2025.policy:85: `0%` -> `1%`":
        "the major-illness cap is 0 and the incentive min(raises, 20% of 0) = 0: major is min(tiers, 0) = 0 whatever the band's rate",
    "zhejiang-ningbo/resident-2025.policy:99: `0 yuan` -> `1 yuan`":
        "assistance here is clamped to a cap of 0 (unknown): 0 whatever its threshold or ratio",
    "zhejiang-ningbo/resident-2025.policy:106: `0%` -> `1%`":
        "assistance here is clamped to a cap of 0 (unknown): 0 whatever its threshold or ratio",
}
