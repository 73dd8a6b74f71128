select rank, sector, round(stms, 1) as stms, round(score_a, 1) as a, round(score_b, 1) as b,
       round(score_c, 1) as c, rank_change_1d, is_riser, is_three_high, structure
from stms.top_list where trade_date = '2019-06-28' and sector_kind = 'sw_l1' order by rank limit 5;
