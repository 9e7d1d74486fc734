"""Write the team's hand-labelled news headlines ("analyst corrections") for ``--extra``.

The headlines are the team's own: situation patterns written and labelled by hand (the rules
are in docs/labelling.md), filled with invented or generic entity names and numbers from a
seeded generator, plus headlines written out one by one (``HANDWRITTEN``, ``HANDWRITTEN_2``
and the larger third batch kept as data in ``models/data/analyst_headlines_written.csv``:
text, sentiment, topic), so the set is reproducible and names no real company. Nothing here
is copied or paraphrased from an evaluation set.

    python scripts/analyst_headlines.py            # rewrites models/data/analyst_headlines*.csv

Output: ``analyst_headlines.csv`` (text,label: sentiment) and ``analyst_headlines_topic.csv``
(text,label: topic, only the rows whose topic is clear).
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "models" / "data"
WRITTEN = OUT / "analyst_headlines_written.csv"  # the third, larger handwritten batch
PER_PATTERN = 4  # instances of each pattern (different names and numbers)
PER_NEUTRAL_PATTERN = 3  # neutral is narrow in news (docs/labelling.md): fewer of it
SEED = 2026

_PREFIX = (
    "Norvale Aldmere Brightwater Castellan Dunmore Everline Fairhaven Greystone Halcyon Ironbridge "
    "Juniper Kestrel Larkspur Meridian Northgate Oakridge Pellam Quillon Redfern Stonebury "
    "Tamsin Umbra Valemont Westlake Yarrow Zephyr Ashcombe Belmore Corvane Drayfield Elstree "
    "Foxglove Glenmoor Harrowgate Innisfree Kelso Lindqvist Marwick Nordhaus Orrin Pemberly "
    "Ravensholt Silvercrest Trelawny Vantor Whitcombe Altura Bexley Calder Denholm"
).split()
_SUFFIX = (
    "Holdings|Group|Corp|Industries|Technologies|Pharma|Motors|Foods|Energy|Retail|Airlines|"
    "Mining|Logistics|Telecom|Semiconductor|Biotech|Brands|Software|Steel|Chemicals|Media|Inc|plc"
).split("|")
_BANK_SUFFIX = (
    "Bank|Bancorp|Savings Bank|Trust|Financial|Capital Bank|Credit Union|Banking Group"
).split("|")
_EXCH = (
    "CoinVault|Bitrova|Zentrex|Hashport|Cryptalis|Tokenly|BlockHarbor|Satoshi Square|Ledgerly|"
    "Coinmint|NovaX|Quantrade"
).split("|")
_BROKER = (
    "Hallbrook Securities|Ardent Capital|Fenwick & Rowe|Morrow Partners|Castlegate Research|"
    "Lindell Brothers|Pinecrest Equity|Sterling Oak Advisors|Brandt Wealth|Kessler Markets"
).split("|")
_AGENCY = ("S&P", "Moody's", "Fitch", "a rating agency")
_PEOPLE = (
    "Maria Okafor|James Whitfield|Priya Raman|Lena Vogt|Tomás Ibarra|Grace Lindqvist|"
    "Daniel Mbeki|Sofia Marchetti|Kenji Arai|Hannah Cole|Omar Haddad|Claire Dubois"
).split("|")
_PRODUCT = (
    "SUVs|pickup trucks|insulin pens|baby car seats|laptops|e-bikes|heart monitors|"
    "space heaters|infant formula tins|electric scooters|dishwashers|airbags"
).split("|")
_COUNTRY = (
    "US|UK|euro zone|German|Japanese|Canadian|Australian|French|Brazilian|Indian|Chinese"
).split("|")
_CITY = "London|Frankfurt|Singapore|Toronto|Dallas|Dublin|Zurich|Austin|Amsterdam".split("|")
_QUARTER = ("first-quarter", "second-quarter", "third-quarter", "fourth-quarter", "full-year")
_DAY = "Monday|Tuesday|Wednesday|Thursday|Friday".split("|")
_MONTH = "January|February|March|April|May|June|July|September|October|November".split("|")

# (pattern, sentiment, topic or "" when the topic is not clear-cut). Sentiment is the reading
# for the company named first (or for the economy, for macro data): see docs/labelling.md.
NEG: list[tuple[str, str]] = [
    # bank runs, failures, exchange crises: topic financials
    ("Bank run at {bank} as depositors pull {amt} in a day", "financials"),
    ("{bank} shares plunge {pct}% as customers rush to withdraw deposits", "financials"),
    ("Regulators seize {bank} and take control of its deposits", "financials"),
    ("{bank} fails, the biggest bank collapse since 2008", "financials"),
    ("{bank} closed by state regulator; FDIC named receiver", "financials"),
    ("{bank} scrambles to raise capital after {amt} loss on bond portfolio", "financials"),
    ("Depositors flee {bank} as confidence in regional lenders crumbles", "financials"),
    ("{bank} seeks emergency funding as outflows accelerate", "financials"),
    ("Rival agrees to buy troubled {bank} for a fraction of its value", "financials"),
    ("{bank} suspends dividend and warns of heavy loan losses", "financials"),
    ("Crypto exchange {exch} halts withdrawals amid liquidity crunch", "financials"),
    ("{exch} stops processing customer withdrawals, shares of rivals slide", "financials"),
    ("{exch} files for bankruptcy after failed rescue deal", "financials"),
    ("{exch} freezes accounts as regulators probe missing customer funds", "financials"),
    ("Customers cannot withdraw funds from {exch} for a third day", "financials"),
    ("{exch} to be bought by rival after run on the exchange", "financials"),
    ("Trading halted at {exch} after {amt} hack", "financials"),
    ("Lender {bank} downgraded as deposit flight spreads", "financials"),
    # bankruptcies, defaults, downgrades
    ("{co} files for Chapter 11 bankruptcy protection", ""),
    ("{co} collapses into administration, putting {n} jobs at risk", ""),
    ("{co} misses bond payment, edging closer to default", "treasuries_corporate_debt"),
    ("{agency} cuts {co} to junk on mounting debt", "treasuries_corporate_debt"),
    ("{agency} downgrades {co} to selective default", "treasuries_corporate_debt"),
    ("{co} bonds tumble as investors fear restructuring", "treasuries_corporate_debt"),
    ("{broker} downgrades {co} to sell, sees {pct}% downside", "analyst_update"),
    ("{broker} cuts {co} price target on weak demand", "analyst_update"),
    ("{co} downgraded to underweight at {broker}", "analyst_update"),
    # results, guidance
    ("{co} misses {q} profit forecasts as costs surge", "earnings"),
    ("{co} swings to {q} loss, shares slide", "earnings"),
    ("{co} cuts full-year guidance for the second time", "earnings"),
    ("{co} issues profit warning as sales slump", "earnings"),
    ("{co} {q} revenue falls {pct}%, below expectations", "earnings"),
    ("{co} shares tumble {pct}% after disappointing results", "earnings"),
    ("{co} slashes dividend after profit drop", "dividend"),
    ("{co} scraps dividend to preserve cash", "dividend"),
    # layoffs, closures
    ("{co} to cut {n} jobs as demand weakens", ""),
    ("{co} to close {small} plants and lay off {n} workers", ""),
    ("{co} announces {n} layoffs in restructuring", ""),
    # lawsuits, fines, probes
    ("{co} fined {amt} over safety failures", "legal_regulation"),
    ("{co} hit with {amt} penalty for misleading investors", "legal_regulation"),
    ("{co} sued by shareholders over accounting errors", "legal_regulation"),
    ("Regulators open fraud probe into {co}", "legal_regulation"),
    ("{co} loses patent case, faces {amt} damages", "legal_regulation"),
    ("{co} shares sink as regulator blocks its merger", "legal_regulation"),
    ("Prosecutors charge former {co} executives with fraud", "legal_regulation"),
    # recalls, accidents, product failures
    ("{co} recalls {n} {prod} over fire risk", "company_product_news"),
    ("{co} halts production after deadly factory blast", "company_product_news"),
    ("{co} drug fails late-stage trial, shares crash", "company_product_news"),
    ("{co} loses its biggest customer contract", "company_product_news"),
    ("{co} delays flagship launch again, shares drop", "company_product_news"),
    ("{co} suffers data breach affecting {n} customers", "company_product_news"),
    # market moves, management turmoil
    ("{co} shares slump to {small}-year low", "stock_movement"),
    ("{co} stock plunges {pct}% after short seller report", "stock_movement"),
    ("{co} chief executive resigns amid accounting scandal", "personnel_change"),
    ("{co} CFO quits days before results", "personnel_change"),
    ("{co} auditor resigns, raising going-concern doubts", ""),
    ("{co} warns it may run out of cash within a year", ""),
    ("{co} pulls IPO as investors balk at valuation", "ipo"),
    ("{co} shares sink below IPO price on debut", "ipo"),
    ("Oil prices slump {pct}% as demand fears mount", "energy_oil"),
    ("{co} writes down {amt} on failed acquisition", ""),
    # milder negatives: still bad news for the company named (see docs/labelling.md)
    ("{co} shares edge lower after cautious outlook", "stock_movement"),
    ("{co} shares slip as sales growth slows", "stock_movement"),
    ("{co} falls after rival wins key contract", "stock_movement"),
    ("{co} loses market share to cheaper rivals", ""),
    ("{co} warns of higher costs next year", "earnings"),
    ("{co} sees weaker demand in {country} market", ""),
    ("{co} hit by strike at its biggest plant", ""),
    ("{co} delays results, citing audit review", "earnings"),
    ("{co} chief executive to step down after {small} years of decline", "personnel_change"),
    ("Investors question {co} strategy after another miss", ""),
    ("{co} under pressure as activist demands break-up", ""),
    ("{co} sales growth stalls in {q}", "earnings"),
    ("{co} margins squeezed by rising wages", "earnings"),
    ("{co} faces {amt} bill for pension shortfall", ""),
    ("{co} cut to neutral at {broker} on valuation", "analyst_update"),
    ("{co} abandons expansion plan as costs spiral", ""),
    ("{co} loses bid for {amt} government contract", "company_product_news"),
    ("{co} closes {small} stores as shoppers stay away", ""),
    ("{co} trims sales forecast on weak consumer spending", "earnings"),
    ("{co} shares fall as takeover talks with {co2} collapse", "m_and_a_investments"),
    ("{co2} walks away from {co} deal", "m_and_a_investments"),
    ("{co} hit by cyberattack, systems down", "company_product_news"),
    ("{co} sinks after {broker} flags accounting concerns", "analyst_update"),
    ("{co} to sell assets at a loss to repay lenders", ""),
    ("{co} posts wider {q} loss", "earnings"),
    ("{co} orders fall for a {ordinal} straight month", ""),
    ("Weak {q} for {co} as prices drop", "earnings"),
    ("{co} shares lose a third of their value in a week", "stock_movement"),
    ("{bank} hit by wave of bad loans", "financials"),
    ("{bank} profit slides as bad debts rise", "financials"),
    ("{bank} faces probe over money laundering failures", "financials"),
    ("{exch} users report frozen balances", "financials"),
    # macro: the sign is the reading for the economy
    ("{country} unemployment rate rises to {rate}%", "macro"),
    ("{country} economy shrinks {rate}% as recession takes hold", "macro"),
    ("{country} inflation jumps to {rate}%, highest in decades", "macro"),
    ("{country} jobless claims surge to {small}-month high", "macro"),
    ("{country} retail sales fall more than expected", "macro"),
    ("{country} factory output drops for a {ordinal} month", "macro"),
    ("Stocks tumble as recession fears grip markets", "markets"),
    ("Global markets sell off as bank turmoil spreads", "markets"),
]

POS: list[tuple[str, str]] = [
    ("{co} beats {q} profit estimates, raises outlook", "earnings"),
    ("{co} {q} earnings top forecasts as sales jump {pct}%", "earnings"),
    ("{co} raises full-year guidance on strong demand", "earnings"),
    ("{co} swings to {q} profit, shares jump", "earnings"),
    ("{co} reports record {q} revenue", "earnings"),
    ("{co} shares surge {pct}% after blowout results", "earnings"),
    ("{co} narrows loss faster than expected", "earnings"),
    ("{co} profit doubles on cost cuts", "earnings"),
    ("{broker} upgrades {co} to buy, sees {pct}% upside", "analyst_update"),
    ("{co} upgraded to outperform at {broker}", "analyst_update"),
    ("{broker} raises {co} price target after strong quarter", "analyst_update"),
    ("{agency} upgrades {co} to investment grade", "treasuries_corporate_debt"),
    ("{agency} lifts {co} outlook to positive", "treasuries_corporate_debt"),
    ("{co} agrees {amt} takeover by {co2} at {pct}% premium", "m_and_a_investments"),
    ("{co} shares soar on {amt} buyout offer", "m_and_a_investments"),
    ("{co2} bids {amt} for {co}, shares jump {pct}%", "m_and_a_investments"),
    ("{co} receives sweetened takeover offer", "m_and_a_investments"),
    ("{co} wins {amt} order from {co2}", "company_product_news"),
    ("{co} lands record contract, shares climb", "company_product_news"),
    ("{co} wins regulatory approval for new drug", "company_product_news"),
    ("{co} drug succeeds in late-stage trial", "company_product_news"),
    ("{co} launches new {prod} to strong early sales", "company_product_news"),
    ("{co} raises dividend by {pct}%", "dividend"),
    ("{co} announces {amt} share buyback", "dividend"),
    ("{co} hikes payout after record year", "dividend"),
    ("{co} shares hit all-time high", "stock_movement"),
    ("{co} stock rallies {pct}% on upbeat forecast", "stock_movement"),
    ("{co} jumps as investors cheer turnaround plan", "stock_movement"),
    ("{co} wins lawsuit against rival, shares rise", "legal_regulation"),
    ("Regulator drops probe into {co}", "legal_regulation"),
    ("{co} settles dispute, removing overhang on shares", "legal_regulation"),
    ("{co} completes debt refinancing, easing default fears", "treasuries_corporate_debt"),
    ("{co} secures {amt} rescue financing", ""),
    ("{co} cuts debt by {amt} ahead of schedule", ""),
    ("{co} to hire {n} workers as it expands", ""),
    ("{co} opens new factory, creating {n} jobs", ""),
    ("{co} shares soar in strong market debut", "ipo"),
    ("{co} prices IPO above range as demand booms", "ipo"),
    ("{bank} deposits stabilise as rescue plan restores confidence", "financials"),
    ("{bank} passes stress test with strong capital buffer", "financials"),
    ("{bank} profit beats forecasts on higher lending margins", "financials"),
    ("{exch} resumes withdrawals after securing funding", "financials"),
    ("{bank} shares rebound {pct}% after emergency backstop", "financials"),
    ("{co} names proven turnaround expert as CEO, shares rise", "personnel_change"),
    ("{co} returns to profit for first time in {small} years", "earnings"),
    ("{co} market share grows for a {ordinal} straight quarter", ""),
    ("{co} sales beat expectations on holiday demand", "earnings"),
    ("{co} sees margins widening next year", ""),
    ("Oil prices jump {pct}% as supply tightens", "energy_oil"),
    # milder positives: still good news for the company named
    ("{co} shares edge higher after upbeat trading update", "stock_movement"),
    ("{co} gains as analysts see recovery ahead", "stock_movement"),
    ("{co} to sell non-core unit for {amt} to cut debt", "m_and_a_investments"),
    ("{co} confirms talks to sell division to {co2}", "m_and_a_investments"),
    ("{co} expands into {country} market", "company_product_news"),
    ("{co} to open {small} new stores this year", "company_product_news"),
    ("{co} signs {amt} partnership with {co2}", "company_product_news"),
    ("{co} sales rise {pct}% in {q}", "earnings"),
    ("{co} margins improve as costs fall", "earnings"),
    ("{co} sees stronger demand next year", ""),
    ("{co} orders pick up for a {ordinal} month", ""),
    ("{co} cost-cutting plan to save {amt} a year", ""),
    ("{co} wins backing from shareholders for growth plan", ""),
    ("{co} investors welcome new chief executive", "personnel_change"),
    ("{co} added to benchmark index, shares rise", "stock_movement"),
    ("{co} raised to overweight at {broker}", "analyst_update"),
    ("{broker} says {co} is a top pick for next year", "analyst_update"),
    ("{co} rises after winning approval for {city} plant", "company_product_news"),
    ("{co} gains market share from rivals", ""),
    ("{co} recovers from outage, orders back to normal", "company_product_news"),
    ("{co} sells more {prod} than expected", "company_product_news"),
    ("{co} lifts sales target after strong start to year", "earnings"),
    ("{co} strikes deal with lenders, avoids default", "treasuries_corporate_debt"),
    ("{co} shares climb as takeover interest grows", "m_and_a_investments"),
    ("{co} pays down {amt} of debt early", "treasuries_corporate_debt"),
    ("{co} posts narrower {q} loss", "earnings"),
    ("Strong {q} for {co} as prices rise", "earnings"),
    ("{bank} lending margins widen, lifting profit", "financials"),
    ("{bank} bad loans fall to lowest in a decade", "financials"),
    ("{bank} boosts capital with {amt} share sale, easing concerns", "financials"),
    # macro: good news for the economy
    ("{country} unemployment rate falls to {rate}%", "macro"),
    ("{country} economy grows faster than expected", "macro"),
    ("{country} inflation cools to {rate}%, easing pressure on households", "macro"),
    ("{country} jobless claims drop to lowest since {year}", "macro"),
    ("{country} employers add more jobs than forecast", "macro"),
    ("{country} retail sales rise for a {ordinal} month", "macro"),
    ("{country} consumer confidence rebounds to {small}-month high", "macro"),
    ("{country} factory activity expands at fastest pace in a year", "macro"),
    ("Stocks rally to record as inflation fears ease", "markets"),
    ("Global shares climb as bank fears fade", "markets"),
]

NEU: list[tuple[str, str]] = [
    ("{co} to report {q} results on {day}", "earnings"),
    ("{co} to release {q} earnings after the bell", "earnings"),
    ("{co} to hold annual general meeting on {month} {dnum}", ""),
    ("{co} names {person} chief financial officer", "personnel_change"),
    ("{co} appoints {person} to its board", "personnel_change"),
    ("{co} chairman {person} to retire as planned; successor named", "personnel_change"),
    ("{person} to succeed retiring {co} chief executive next year", "personnel_change"),
    ("{co} declares regular quarterly dividend of {cents} cents", "dividend"),
    ("{co} sets dividend record date", "dividend"),
    ("{co} to present at investor conference in {city}", ""),
    ("{co} moves its headquarters to {city}", "company_product_news"),
    ("{co} completes previously announced sale of logistics unit", "m_and_a_investments"),
    ("{co} to acquire {co2} in all-stock deal", "m_and_a_investments"),
    ("{co} and {co2} agree to merge", "m_and_a_investments"),
    ("{co} buys small software maker for undisclosed sum", "m_and_a_investments"),
    ("{co} files for {city} listing", "ipo"),
    ("{co} sets terms for IPO", "ipo"),
    ("{co} prices {amt} bond offering", "treasuries_corporate_debt"),
    ("{agency} affirms {co} rating, outlook stable", "treasuries_corporate_debt"),
    ("{broker} initiates coverage of {co} with neutral rating", "analyst_update"),
    ("{broker} reiterates hold on {co}", "analyst_update"),
    ("{co} shares unchanged ahead of results", "stock_movement"),
    ("{co} stock flat in early trade", "stock_movement"),
    ("{co} results in line with expectations", "earnings"),
    ("{co} keeps full-year outlook unchanged", "earnings"),
    ("{co} to split its stock {small}-for-1", ""),
    ("{co} launches new {prod} in {city}", "company_product_news"),
    ("{co} opens office in {city}", "company_product_news"),
    ("{co} signs supply agreement with {co2}", "company_product_news"),
    ("{co} renames its retail division", "company_product_news"),
    ("{co} to change ticker symbol next month", ""),
    ("{co} publishes annual sustainability report", "company_product_news"),
    ("{co} to redeem notes due {year}", "treasuries_corporate_debt"),
    ("{bank} completes systems upgrade over the weekend", "financials"),
    ("{bank} names new head of retail banking", "personnel_change"),
    ("{bank} to report quarterly results next week", "financials"),
    ("{exch} lists {small} new trading pairs", "financials"),
    ("{exch} moves its registered office to {city}", "financials"),
    ("{bank} opens branch in {city}", "financials"),
    ("{co} shareholders to vote on board nominees", ""),
    ("{co} files annual report with regulators", "legal_regulation"),
    ("Court sets trial date in {co} patent dispute", "legal_regulation"),
    ("{co} responds to regulator's routine information request", "legal_regulation"),
    ("What to watch as {co} reports this week", "stock_commentary"),
    ("{co}: key dates for investors", "stock_commentary"),
    ("Fed holds rates steady, as expected", "fed_central_banks"),
    ("Central bank leaves policy unchanged and keeps guidance", "fed_central_banks"),
    ("{country} central bank to announce rate decision on {day}", "fed_central_banks"),
    ("{country} GDP grows {rate}%, in line with forecasts", "macro"),
    ("{country} inflation steady at {rate}%", "macro"),
    ("{country} jobs report due on {day}", "macro"),
    ("{country} to publish trade figures next week", "macro"),
    ("Markets mixed ahead of central bank meeting", "markets"),
    ("Stocks little changed as investors await data", "markets"),
    ("Oil steady as traders weigh supply outlook", "energy_oil"),
]


# (text, sentiment, topic) written one by one by the team; names invented.
HANDWRITTEN: list[tuple[str, str, str]] = [
    ("Harlow Mining profit halves as copper price slides", "negative", "earnings"),
    ("Brennock Foods axes 900 jobs and shuts two bakeries", "negative", ""),
    ("Weak pound drags on Ostler Retail margins", "negative", "earnings"),
    ("Gloomy outlook sends Vaskel Motors shares to four-year low", "negative", "stock_movement"),
    ("Drayton Energy scraps North Sea project after cost overruns", "negative", "energy_oil"),
    ("Regulator slaps record fine on Clearwater Insurance", "negative", "legal_regulation"),
    ("Sluggish Christmas trading hits Penhallow Stores", "negative", "earnings"),
    ("Fenmore Airlines grounds fleet after engine fault", "negative", "company_product_news"),
    ("Investors dump Arcadia Telecom after dividend cut", "negative", "dividend"),
    ("Shareholders revolt over Quinlan Group pay deal", "negative", ""),
    ("Thornbury Pharma blow as cancer drug trial halted", "negative", "company_product_news"),
    (
        "Marlowe Brewing loses chief executive and finance chief in same week",
        "negative",
        "personnel_change",
    ),
    ("Cardew Steel warns of more job cuts as imports flood market", "negative", ""),
    ("Bank of Lisle set aside more money for bad loans", "negative", "financials"),
    ("Corriston Bank hit by rogue trading loss", "negative", "financials"),
    ("Lenders pull credit lines from struggling Grayling Construction", "negative", ""),
    ("Pemberton Homes sales slow as mortgage rates bite", "negative", ""),
    ("Hollins Media ad revenue slumps", "negative", "earnings"),
    ("Rexford Chemicals swings to loss on plant outage", "negative", "earnings"),
    ("Anvil Semiconductor chip shortage worsens, output cut", "negative", "company_product_news"),
    ("Kingsway Leisure shares crash as rescue talks fail", "negative", "stock_movement"),
    ("Ferrant Logistics downgraded after losing key client", "negative", "analyst_update"),
    ("Customers desert Mallory Mobile after price rise", "negative", ""),
    ("Cold snap wipes out Lindgren Garden Centres spring sales", "negative", ""),
    ("Whitlock Bancorp shares halted after deposit flight", "negative", "financials"),
    ("Savers queue outside Glasson Building Society branches", "negative", "financials"),
    ("Crypto lender Yieldly pauses redemptions", "negative", "financials"),
    ("Stablecoin Terrafi loses its dollar peg, panic spreads", "negative", "financials"),
    (
        "Tokenport collapse leaves one million customers unable to get money out",
        "negative",
        "financials",
    ),
    ("Broker Hexley Markets goes bust, clients' funds frozen", "negative", "financials"),
    ("Auditors flag 'material uncertainty' over Renshaw Group's future", "negative", ""),
    ("Calloway Retail seeks creditor protection", "negative", ""),
    (
        "Osgood Energy bondholders brace for losses as restructuring looms",
        "negative",
        "treasuries_corporate_debt",
    ),
    ("Bexhill Water credit rating cut on soaring debts", "negative", "treasuries_corporate_debt"),
    (
        "Moody's puts Tarrant Holdings on review for downgrade",
        "negative",
        "treasuries_corporate_debt",
    ),
    (
        "Emberly Foods recalls peanut butter over salmonella fears",
        "negative",
        "company_product_news",
    ),
    ("Kinross Motors faces class action over faulty gearboxes", "negative", "legal_regulation"),
    ("Competition watchdog blocks Harcourt takeover of Lynton", "negative", "legal_regulation"),
    ("Wexford Pharma shares tumble as rival drug wins approval", "negative", "stock_movement"),
    ("Dunlevy Oil output falls short of target", "negative", "energy_oil"),
    ("Oil major Sanderling takes $4bn writedown", "negative", "energy_oil"),
    ("Mercer Tech profit warning wipes £1bn off value", "negative", "earnings"),
    ("Holbrook Airlines passenger numbers fall for third month", "negative", ""),
    ("Strike at Fairlie Ports halts shipments", "negative", ""),
    ("Corbin Retail boss ousted after dismal year", "negative", "personnel_change"),
    ("Ashby Bank fined for failing to protect customers", "negative", "financials"),
    ("Pritchard Insurance hit by storm claims", "negative", ""),
    ("Sales at Lomax Fashion fall for the fifth quarter running", "negative", "earnings"),
    ("Tenby Telecom loses 300,000 subscribers", "negative", ""),
    ("Hawksmoor Capital suffers record outflows", "negative", "financials"),
    ("Investors flee Radley property fund, redemptions suspended", "negative", "financials"),
    ("Greywell Foods blames weather for slump in profits", "negative", "earnings"),
    ("Fitzroy Software delays product, cuts forecast", "negative", "earnings"),
    (
        "Nettleton Mining suspends operations after fatal accident",
        "negative",
        "company_product_news",
    ),
    ("US factory orders tumble, stoking recession fears", "negative", "macro"),
    ("Euro zone slides into recession", "negative", "macro"),
    ("UK house prices fall at fastest rate in 14 years", "negative", "macro"),
    ("Consumer spending drops as prices soar", "negative", "macro"),
    ("Layoffs spread across tech sector as demand cools", "negative", ""),
    ("Wall Street slumps as bank fears return", "negative", "markets"),
    ("Bond yields surge as inflation refuses to cool", "negative", "treasuries_corporate_debt"),
    ("Home sales plunge to lowest level in a decade", "negative", "macro"),
    ("Business confidence sinks to pandemic lows", "negative", "macro"),
    ("Harlow Mining profit doubles on record copper price", "positive", "earnings"),
    ("Brennock Foods to hire 1,200 staff as orders boom", "positive", ""),
    ("Bumper Christmas for Penhallow Stores", "positive", "earnings"),
    ("Vaskel Motors shares soar as electric car orders pour in", "positive", "stock_movement"),
    ("Drayton Energy strikes oil in new field", "positive", "energy_oil"),
    ("Clearwater Insurance cleared by regulator", "positive", "legal_regulation"),
    ("Ostler Retail shrugs off downturn with sales rise", "positive", "earnings"),
    ("Fenmore Airlines returns to profit as travel rebounds", "positive", "earnings"),
    ("Arcadia Telecom lifts dividend after strong year", "positive", "dividend"),
    ("Thornbury Pharma cancer drug hailed as breakthrough", "positive", "company_product_news"),
    ("Marlowe Brewing toasts record sales", "positive", "earnings"),
    ("Cardew Steel wins £2bn rail contract", "positive", "company_product_news"),
    ("Bank of Lisle profit jumps as lending grows", "positive", "financials"),
    ("Corriston Bank rescued: deposits guaranteed, shares rally", "positive", "financials"),
    ("Grayling Construction secures fresh funding, averting collapse", "positive", ""),
    ("Pemberton Homes sales beat forecasts", "positive", "earnings"),
    ("Hollins Media streaming subscribers top 10 million", "positive", ""),
    ("Rexford Chemicals upgraded to buy on margin recovery", "positive", "analyst_update"),
    (
        "Anvil Semiconductor sold out for the year as AI demand soars",
        "positive",
        "company_product_news",
    ),
    ("Kingsway Leisure shares rocket on takeover approach", "positive", "m_and_a_investments"),
    ("Ferrant Logistics lands Amazon-sized deal", "positive", "company_product_news"),
    ("Mallory Mobile adds a record 500,000 customers", "positive", ""),
    ("Lindgren Garden Centres blooms as sunny spring lifts sales", "positive", "earnings"),
    ("Whitlock Bancorp deposits return after backstop", "positive", "financials"),
    ("Glasson Building Society reports record savings inflows", "positive", "financials"),
    ("Yieldly resumes redemptions and repays all customers", "positive", "financials"),
    ("Renshaw Group clears debts with asset sale", "positive", "treasuries_corporate_debt"),
    ("Calloway Retail emerges from bankruptcy with new owner", "positive", ""),
    ("Bexhill Water rating upgraded as debt falls", "positive", "treasuries_corporate_debt"),
    (
        "Emberly Foods wins contract to supply national supermarket chain",
        "positive",
        "company_product_news",
    ),
    ("Court throws out lawsuit against Kinross Motors", "positive", "legal_regulation"),
    ("Watchdog clears Harcourt takeover of Lynton", "positive", "legal_regulation"),
    ("Wexford Pharma shares jump after FDA nod", "positive", "company_product_news"),
    ("Dunlevy Oil output hits record", "positive", "energy_oil"),
    ("Mercer Tech profit beats forecasts, shares leap", "positive", "earnings"),
    ("Holbrook Airlines passenger numbers take off", "positive", ""),
    ("Fairlie Ports strike ends as workers accept pay deal", "positive", ""),
    ("Corbin Retail turnaround pays off with surprise profit", "positive", "earnings"),
    ("Pritchard Insurance premiums rise, boosting profit", "positive", "earnings"),
    ("Lomax Fashion back in fashion as sales climb", "positive", "earnings"),
    ("Tenby Telecom net adds beat estimates", "positive", ""),
    ("Hawksmoor Capital attracts record inflows", "positive", "financials"),
    ("Greywell Foods upbeat after strong first half", "positive", "earnings"),
    ("Fitzroy Software launch a hit, forecast raised", "positive", "earnings"),
    ("Nettleton Mining restarts mine ahead of schedule", "positive", "company_product_news"),
    ("Halvergate agrees to be bought for $12bn, a 45% premium", "positive", "m_and_a_investments"),
    ("Private equity swoops on Ditchling Brands, shares surge", "positive", "m_and_a_investments"),
    (
        "Cobbold Group in talks to sell struggling unit, shares up",
        "positive",
        "m_and_a_investments",
    ),
    ("Investors cheer Sefton Energy's new buyback", "positive", "dividend"),
    ("Tarrant Holdings beats on revenue and lifts outlook", "positive", "earnings"),
    ("Analysts turn bullish on Aldridge Motors", "positive", "analyst_update"),
    ("US economy adds 300,000 jobs, beating forecasts", "positive", "macro"),
    ("UK inflation falls faster than expected", "positive", "macro"),
    ("Euro zone avoids recession as growth returns", "positive", "macro"),
    ("Consumer confidence jumps as prices ease", "positive", "macro"),
    ("Wages rise faster than prices for first time in two years", "positive", "macro"),
    ("Wall Street hits record high on rate cut hopes", "positive", "markets"),
    ("Stocks rebound as bank fears ease", "positive", "markets"),
    ("House sales pick up as mortgage rates fall", "positive", "macro"),
    ("Manufacturing returns to growth", "positive", "macro"),
    ("Unemployment lowest in half a century", "positive", "macro"),
    ("Harlow Mining to publish production report on Thursday", "neutral", ""),
    ("Brennock Foods appoints new chair", "neutral", "personnel_change"),
    ("Ostler Retail confirms date of annual meeting", "neutral", ""),
    ("Vaskel Motors to unveil new model at Geneva show", "neutral", "company_product_news"),
    ("Drayton Energy completes move of headquarters", "neutral", ""),
    ("Clearwater Insurance names Lena Vogt head of claims", "neutral", "personnel_change"),
    ("Fenmore Airlines to change fleet livery", "neutral", "company_product_news"),
    ("Arcadia Telecom shares go ex-dividend", "neutral", "dividend"),
    (
        "Thornbury Pharma to present trial data at medical congress",
        "neutral",
        "company_product_news",
    ),
    ("Marlowe Brewing lists on Frankfurt exchange in secondary listing", "neutral", ""),
    ("Bank of Lisle to publish results on 28 July", "neutral", "financials"),
    ("Corriston Bank names new chief risk officer", "neutral", "personnel_change"),
    ("Hollins Media trading statement due next week", "neutral", ""),
    ("Kingsway Leisure confirms it received a letter from shareholder", "neutral", ""),
    ("Mallory Mobile to rebrand as Mallory", "neutral", "company_product_news"),
    ("Whitlock Bancorp to hold investor day in September", "neutral", "financials"),
    (
        "Glasson Building Society changes savings rates in line with base rate",
        "neutral",
        "financials",
    ),
    ("Renshaw Group: statement regarding press speculation", "neutral", ""),
    ("Tarrant Holdings files quarterly report", "neutral", ""),
    ("Aldridge Motors to report earnings after market close", "neutral", "earnings"),
    ("Central bank minutes due on Wednesday", "neutral", "fed_central_banks"),
    ("Oil ministers meet in Vienna this weekend", "neutral", "energy_oil"),
    ("Inflation figures out tomorrow", "neutral", "macro"),
    ("What to expect from this week's jobs report", "neutral", "macro"),
    ("Markets closed for public holiday", "neutral", "markets"),
    ("Bank chiefs to testify before Senate committee", "neutral", "financials"),
    ("Treasury to auction 10-year notes", "neutral", "treasuries_corporate_debt"),
    ("Exchange operator extends trading hours pilot", "neutral", "markets"),
]


# Second batch (issue 11, session 3), written one by one in the wording of wire services,
# business pages and market blogs: short forms ("Q3", "EPS", "PT"), tickers-free names,
# crisis vocabulary (runs, seizures, halts, rating actions) and plain corporate notices.
HANDWRITTEN_2: list[tuple[str, str, str]] = [
    # bank runs, seizures, rescues, exchange crises
    ("Depositors queue for hours as Ellerby Savings limits withdrawals", "negative", "financials"),
    ("Regulator takes over Carrow Bank after weekend of frantic talks", "negative", "financials"),
    ("FDIC steps in at Millbrook Bancorp, insured deposits safe", "negative", "financials"),
    ("Treasury weighs backstop as run on regional lenders deepens", "negative", "financials"),
    ("Shares of Ridley Financial halted after 60% plunge", "negative", "financials"),
    ("Ridley Financial trading suspended pending announcement", "neutral", "financials"),
    ("Ashdown Bank seized; assets sold to larger rival overnight", "negative", "financials"),
    ("Emergency loan keeps Tolland Bank afloat", "negative", "financials"),
    ("Kelbrook Bank taps central bank liquidity line as deposits drain", "negative", "financials"),
    ("Bank stocks tumble as contagion fears spread", "negative", "markets"),
    (
        "Crypto platform Vaultra freezes withdrawals, cites 'extreme conditions'",
        "negative",
        "financials",
    ),
    ("Exchange Coinhaven collapses; founder faces fraud charges", "negative", "financials"),
    ("Bitcoin slides below key level as exchange turmoil spreads", "negative", "currencies"),
    ("Lender Brightley pauses withdrawals after run on deposits", "negative", "financials"),
    ("Hedge fund Orwell Capital liquidated after margin calls", "negative", "financials"),
    ("Insurer Ambrose Life placed under regulator's control", "negative", "financials"),
    ("Rival rescues stricken Penrose Bank in state-brokered deal", "negative", "financials"),
    ("Penrose Bank shareholders wiped out in rescue", "negative", "financials"),
    ("Calder Trust bondholders lose everything in emergency takeover", "negative", "financials"),
    ("Central bank pledges unlimited liquidity to calm markets", "positive", "fed_central_banks"),
    (
        "Deposit outflows at Ellerby Savings slow after government guarantee",
        "positive",
        "financials",
    ),
    ("Carrow Bank buyer found; all deposits protected", "positive", "financials"),
    ("Bank shares bounce as regulators vow to protect depositors", "positive", "financials"),
    ("Vaultra reopens withdrawals after securing credit line", "positive", "financials"),
    # rating actions
    (
        "Fitch cuts Harwell Group to CCC on liquidity concerns",
        "negative",
        "treasuries_corporate_debt",
    ),
    (
        "Moody's downgrades Stanmore Utilities, outlook negative",
        "negative",
        "treasuries_corporate_debt",
    ),
    ("S&P lowers Corby Airlines deeper into junk", "negative", "treasuries_corporate_debt"),
    (
        "Ratings agency warns of downgrade as Belsay debt mounts",
        "negative",
        "treasuries_corporate_debt",
    ),
    ("Country's credit rating cut as deficit widens", "negative", "macro"),
    ("Fitch upgrades Harwell Group after refinancing", "positive", "treasuries_corporate_debt"),
    ("Moody's lifts Stanmore Utilities outlook to stable", "positive", "treasuries_corporate_debt"),
    ("S&P raises Corby Airlines to B+ as travel recovers", "positive", "treasuries_corporate_debt"),
    ("S&P affirms Belsay rating, outlook stable", "neutral", "treasuries_corporate_debt"),
    # bankruptcies, defaults
    ("Retailer Marbury enters administration; 140 stores to shut", "negative", ""),
    (
        "Property developer Lonsdale defaults on dollar bonds",
        "negative",
        "treasuries_corporate_debt",
    ),
    ("Fairholt Airlines files for bankruptcy, cancels all flights", "negative", ""),
    ("Struggling Ingram Cinemas warns it may not survive", "negative", ""),
    ("Creditors take control of debt-laden Hatherley Group", "negative", ""),
    (
        "Brewster Homes misses interest payment, shares suspended",
        "negative",
        "treasuries_corporate_debt",
    ),
    (
        "Marbury rescued from administration by private equity buyer",
        "positive",
        "m_and_a_investments",
    ),
    (
        "Lonsdale reaches deal with creditors, averting liquidation",
        "positive",
        "treasuries_corporate_debt",
    ),
    # halts, outages, recalls, disasters
    ("Trading halted on Keswick exchange after system glitch", "negative", "markets"),
    ("Fire shuts Aldous Refining's biggest plant", "negative", "energy_oil"),
    ("Pipeline leak forces Trenton Energy to halt output", "negative", "energy_oil"),
    ("Outage leaves Paxton Bank customers locked out of accounts", "negative", "financials"),
    ("Cyberattack cripples Ormond Logistics systems", "negative", "company_product_news"),
    ("Regulators ground Skyward jets after second crash", "negative", "company_product_news"),
    (
        "Wexley Toys pulls product from shelves after injury reports",
        "negative",
        "company_product_news",
    ),
    ("Dunmere Foods plant closed after contamination found", "negative", "company_product_news"),
    # layoffs, closures
    ("Harrowby Tech lays off a fifth of its staff", "negative", ""),
    ("Carmaker Velden to shed 6,000 jobs in Europe", "negative", ""),
    ("Bank Lorimer cuts 2,000 roles as dealmaking dries up", "negative", "financials"),
    ("Ellis Stores to close all its city-centre shops", "negative", ""),
    ("Hiring freeze at Pratley as profits sag", "negative", ""),
    ("Mossgiel Steel mothballs furnace, 800 workers idled", "negative", ""),
    # guidance, results
    ("Orland Chemicals slashes outlook, blames weak China demand", "negative", "earnings"),
    ("Cresswell Q2 EPS misses; revenue guidance cut", "negative", "earnings"),
    ("Perrin Software warns on profit as clients delay spending", "negative", "earnings"),
    ("Bardon Retail sales fall short, shares hit by downgrade", "negative", "earnings"),
    ("Margins squeezed at Hewitt Foods as costs climb", "negative", "earnings"),
    ("Lacklustre quarter for Selby Media; outlook trimmed", "negative", "earnings"),
    ("Tavistock Group posts wider loss than expected", "negative", "earnings"),
    ("Cresswell Q2 EPS tops estimates, raises guidance", "positive", "earnings"),
    ("Orland Chemicals beats forecasts on strong pricing", "positive", "earnings"),
    ("Perrin Software revenue jumps 35%, shares hit record", "positive", "earnings"),
    ("Bardon Retail profit surges as shoppers return", "positive", "earnings"),
    ("Hewitt Foods lifts margin target after strong half", "positive", "earnings"),
    ("Selby Media swings back to profit", "positive", "earnings"),
    ("Tavistock Group narrows loss, ahead of forecasts", "positive", "earnings"),
    ("Record year for Quarry Minerals as prices soar", "positive", "earnings"),
    ("Strong demand lifts Kettering Paper sales 12%", "positive", "earnings"),
    ("Cresswell to report second-quarter results on 4 August", "neutral", "earnings"),
    ("Orland Chemicals results in line with expectations", "neutral", "earnings"),
    # analyst actions
    ("Westbury Securities upgrades Hollis to overweight", "positive", "analyst_update"),
    ("Hollis PT raised to $85 at Grant & Mayhew", "positive", "analyst_update"),
    ("Analysts see 40% upside in Brockley shares", "positive", "analyst_update"),
    ("Brockley initiated at buy with street-high target", "positive", "analyst_update"),
    ("Westbury Securities downgrades Hollis to underweight", "negative", "analyst_update"),
    ("Hollis PT cut to $40 at Grant & Mayhew on margin worries", "negative", "analyst_update"),
    ("Analysts turn sour on Brockley after profit warning", "negative", "analyst_update"),
    ("Grant & Mayhew reiterates neutral on Hollis", "neutral", "analyst_update"),
    ("Brockley coverage transferred to new analyst", "neutral", "analyst_update"),
    # approvals, wins, deals
    ("Regulators approve Lanyon Pharma's diabetes drug", "positive", "company_product_news"),
    ("EU clears Fenwick-Arden merger without conditions", "positive", "m_and_a_investments"),
    ("Tolworth wins $3bn defence contract", "positive", "company_product_news"),
    ("Corvin Biotech shares double on positive trial results", "positive", "company_product_news"),
    ("Judge rules in favour of Ramsay Tech in patent fight", "positive", "legal_regulation"),
    ("Harbury Mining gets green light for new copper mine", "positive", "gold_metals_materials"),
    ("Yelland agrees takeover by larger rival at 60% premium", "positive", "m_and_a_investments"),
    ("Bidding war erupts for Crossley Brands, shares jump", "positive", "m_and_a_investments"),
    ("Lanyon Pharma drug rejected by regulators", "negative", "company_product_news"),
    ("EU blocks Fenwick-Arden merger", "negative", "m_and_a_investments"),
    ("Tolworth loses defence contract to rival", "negative", "company_product_news"),
    ("Corvin Biotech halts trial over safety concerns", "negative", "company_product_news"),
    ("Takeover of Yelland collapses, shares slump", "negative", "m_and_a_investments"),
    ("Buyer walks away from Crossley Brands deal", "negative", "m_and_a_investments"),
    ("Lanyon Pharma submits drug for regulatory review", "neutral", "company_product_news"),
    ("Fenwick-Arden merger review extended by regulators", "neutral", "m_and_a_investments"),
    # dividends, buybacks
    ("Haddon Oil raises dividend 10% and unveils $5bn buyback", "positive", "dividend"),
    ("Special payout for Rowntree Insurance shareholders", "positive", "dividend"),
    ("Haddon Oil suspends buyback to shore up balance sheet", "negative", "dividend"),
    ("Rowntree Insurance skips final dividend", "negative", "dividend"),
    ("Haddon Oil declares quarterly dividend of 42 cents", "neutral", "dividend"),
    # management
    ("Embattled Gresham chief steps down under investor pressure", "negative", "personnel_change"),
    ("Star fund manager quits Abernethy, investors pull cash", "negative", "personnel_change"),
    ("Shares rally as Gresham names turnaround specialist CEO", "positive", "personnel_change"),
    ("Gresham appoints Kenji Arai as chief financial officer", "neutral", "personnel_change"),
    ("Abernethy names successor to retiring chairman", "neutral", "personnel_change"),
    # macro, markets
    ("Inflation hits 40-year high", "negative", "macro"),
    ("Retail sales slump as shoppers cut back", "negative", "macro"),
    ("Jobless claims jump to highest in a year", "negative", "macro"),
    ("Factory activity contracts for sixth month", "negative", "macro"),
    ("Stocks tumble as rate fears grip markets", "negative", "markets"),
    ("Pound hits record low against dollar", "negative", "currencies"),
    ("Oil plunges as recession fears grow", "negative", "energy_oil"),
    ("Inflation cools more than expected", "positive", "macro"),
    ("Retail sales rebound strongly", "positive", "macro"),
    ("Jobless claims fall to lowest since 1969", "positive", "macro"),
    ("Factory activity expands at fastest pace in a year", "positive", "macro"),
    ("Stocks surge as inflation eases", "positive", "markets"),
    ("Pound rallies after strong growth figures", "positive", "currencies"),
    ("Shares in Asia climb on trade deal hopes", "positive", "markets"),
    ("Oil rises as output cuts take hold", "positive", "energy_oil"),
    ("Central bank raises rates by a quarter point, as expected", "neutral", "fed_central_banks"),
    ("Euro flat ahead of central bank decision", "neutral", "currencies"),
    ("Gold steady as traders await jobs data", "neutral", "gold_metals_materials"),
    ("FTSE opens flat", "neutral", "markets"),
    # plain corporate notices
    ("Pellington Group announces board changes", "neutral", "personnel_change"),
    ("Norcross Energy completes bond issue", "neutral", "treasuries_corporate_debt"),
    ("Wilding Foods moves listing to main market", "neutral", ""),
    ("Trevose Tech holds annual general meeting", "neutral", ""),
    ("Bramley Insurance notice of results date", "neutral", ""),
    ("Lindley Motors to build plant in Texas", "positive", "company_product_news"),
    ("Kelham Group issues trading update", "neutral", ""),
    ("Sutton Bank completes share consolidation", "neutral", "financials"),
    ("Holme Pharma opens research centre in Cambridge", "positive", "company_product_news"),
    ("Ravenhill Media to relocate headquarters to Manchester", "neutral", ""),
]


def _company(rng: random.Random) -> str:
    return f"{rng.choice(_PREFIX)} {rng.choice(_SUFFIX)}"


def _amount(rng: random.Random) -> str:
    cur = rng.choice(("$", "$", "£", "€"))
    if rng.random() < 0.5:
        return f"{cur}{rng.randint(12, 950)} million"
    return f"{cur}{rng.randint(1, 40)}.{rng.randint(1, 9)} billion"


def _fill(pattern: str, rng: random.Random) -> str:
    co = _company(rng)
    co2 = _company(rng)
    while co2 == co:
        co2 = _company(rng)
    values = {
        "co": co,
        "co2": co2,
        "bank": f"{rng.choice(_PREFIX)} {rng.choice(_BANK_SUFFIX)}",
        "exch": rng.choice(_EXCH),
        "broker": rng.choice(_BROKER),
        "agency": rng.choice(_AGENCY),
        "person": rng.choice(_PEOPLE),
        "prod": rng.choice(_PRODUCT),
        "country": rng.choice(_COUNTRY),
        "city": rng.choice(_CITY),
        "q": rng.choice(_QUARTER),
        "day": rng.choice(_DAY),
        "month": rng.choice(_MONTH),
        "dnum": str(rng.randint(1, 28)),
        "amt": _amount(rng),
        "pct": str(rng.choice((3, 4, 5, 6, 7, 8, 9, 11, 12, 14, 15, 18, 20, 23, 25, 30, 40, 60))),
        "rate": f"{rng.randint(1, 9)}.{rng.randint(0, 9)}",
        "n": f"{rng.choice((150, 300, 450, 800, 1200, 2000, 3500, 5000, 8000, 12000)):,}",
        "small": str(rng.randint(2, 12)),
        "cents": str(rng.randint(5, 95)),
        "year": str(rng.randint(2008, 2031)),
        "ordinal": rng.choice(("second", "third", "fourth", "fifth")),
    }
    text = pattern.format(**values)
    return text[0].upper() + text[1:]


def _styled(text: str, rng: random.Random) -> str:
    """Headline house styles vary: some feeds title-case, some prefix an update tag."""
    r = rng.random()
    if r < 0.2:
        small = {"a", "an", "the", "of", "to", "in", "on", "for", "as", "at", "by", "and", "its"}
        words = text.split(" ")
        return " ".join(
            w if (i and w.lower() in small) or not w[:1].isalpha() else w[:1].upper() + w[1:]
            for i, w in enumerate(words)
        )
    if r < 0.27:
        return f"UPDATE {rng.randint(1, 3)}-{text}"
    return text


def written(path: Path = WRITTEN) -> list[tuple[str, str, str]]:
    """The third handwritten batch (docs/labelling.md), in file order."""
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return [(r["text"], r["sentiment"], r["topic"]) for r in csv.DictReader(f)]


def build(
    seed: int = SEED, per_pattern: int = PER_PATTERN, per_neutral: int = PER_NEUTRAL_PATTERN
) -> list[tuple[str, str, str]]:
    """(text, sentiment, topic or "") rows, deterministic for a seed, no duplicates."""
    rng = random.Random(seed)
    rows: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for label, patterns in (("negative", NEG), ("positive", POS), ("neutral", NEU)):
        want = per_neutral if label == "neutral" else per_pattern
        for pattern, topic in patterns:
            made = 0
            while made < want:
                text = _styled(_fill(pattern, rng), rng)
                if text.lower() in seen:
                    continue
                seen.add(text.lower())
                rows.append((text, label, topic))
                made += 1
    for text, label, topic in (*HANDWRITTEN, *HANDWRITTEN_2, *written()):
        if text.lower() not in seen:
            seen.add(text.lower())
            rows.append((text, label, topic))
    rng.shuffle(rows)
    return rows


def write(rows: list[tuple[str, str, str]], out: Path = OUT) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    sent, topic = out / "analyst_headlines.csv", out / "analyst_headlines_topic.csv"
    with open(sent, "w", newline="", encoding="utf-8") as fs:
        w = csv.writer(fs)
        w.writerow(["text", "label"])
        w.writerows((t, s) for t, s, _ in rows)
    with open(topic, "w", newline="", encoding="utf-8") as ft:
        w = csv.writer(ft)
        w.writerow(["text", "label"])
        w.writerows((t, tp) for t, _, tp in rows if tp)
    return sent, topic


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--per-pattern", type=int, default=PER_PATTERN)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    rows = build(args.seed, args.per_pattern)
    paths = write(rows, args.out)
    counts = {
        lab: sum(1 for _, s, _ in rows if s == lab) for lab in ("negative", "neutral", "positive")
    }
    print(f"{len(rows)} rows {counts}; topic rows {sum(1 for r in rows if r[2])} -> {paths}")


if __name__ == "__main__":
    main()
