extension ClinicPolicy {
    /// The shipped drug library and limits, as the JSON a clinic saves and
    /// edits (`pumpctl calc policy > policy.json`). Embedded as text rather
    /// than a resource bundle so an installed binary never depends on a
    /// bundle path being present.
    ///
    /// Figures and their sources are those gathered in the project's
    /// clinical reference (docs/therapy.md lists them); figures the reference
    /// marks unverified are defaults a clinic should review.
    public static let shippedDefaultsJSON = #"""
    {
      "format": "pumpwand-policy/1",
      "name": "PumpWand shipped defaults (review before clinical use)",
      "drugs": [
        {
          "drug": "baclofen",
          "dose_unit": "mcg",
          "concentrations": ["50mcg/mL", "500mcg/mL", "1000mcg/mL", "2000mcg/mL"],
          "indications": ["spinal", "cerebral"],
          "daily_dose": {"soft_max": "1000mcg/day", "hard_max": "2000mcg/day"},
          "bolus": {"soft_max": "100mcg", "hard_max": "200mcg"},
          "bolus_per_24h": {"soft_max": "100mcg", "hard_max": "200mcg"},
          "step_rate": {"soft_max": "1000mcg/day", "hard_max": "2000mcg/day"},
          "start_dose": {"soft_max": "200mcg/day", "hard_max": "800mcg/day"},
          "by_indication": {
            "cerebral": {"daily_dose": {"soft_max": "703mcg/day", "hard_max": "2000mcg/day"},
                         "step_rate": {"soft_max": "703mcg/day", "hard_max": "2000mcg/day"}}
          },
          "titration": {
            "max_increase_percent": {"spinal": 30, "cerebral": 15},
            "minimum_interval": "24h",
            "withdrawal_reduction_percent": 50,
            "restart_as_start_after": "24h"
          },
          "sources": [
            "Lioresal Intrathecal / Gablofen labeling: concentrations 50 (screening), 500, 1000, 2000 mcg/mL",
            "Labeling: indications are spasticity of spinal and of cerebral origin (clinical.md: baclofen relaxes spastic muscles); pain is not one",
            "Labeling: titration once per 24 h, spinal origin +10 to 30%, cerebral origin +5 to 15%; no increase in the first 24 h",
            "Labeling: maintenance spinal 300 to 800 mcg/day, up to about 2000 mcg/day (unverified): daily soft 1000, hard 2000 mcg/day",
            "Labeling: maintenance cerebral origin 90 to 703 mcg/day: cerebral daily soft 703 mcg/day; its hard maximum is the drug's 2000 mcg/day (unverified)",
            "Step rate: a flex step above the daily limits would deliver above them if held for a day; the same figures (derived)",
            "Labeling: initial pump dose twice the effective screening dose per 24 h, screening doses 50, 75, 100 mcg: start soft 200 mcg/day; start hard 800 mcg/day, the top of the typical spinal maintenance range (unverified, clinic default)",
            "Screening boluses 50, 75, 100 mcg, each 24 h after the last (labeling): single bolus soft 100 / hard 200 mcg and the same for all boluses in 24 h (clinic defaults)",
            "Labeling boxed warning: abrupt discontinuation can be life threatening",
            "Restart: a pump stopped for 24 h or more restarts under the start-dose limits, since tolerance of the old dose may be lost (clinic default, unverified; the reference gives no figure)"
          ]
        },
        {
          "drug": "morphine",
          "dose_unit": "mg",
          "concentrations": ["10mg/mL", "25mg/mL"],
          "indications": ["pain"],
          "daily_dose": {"soft_max": "10mg/day", "hard_max": "20mg/day"},
          "bolus": {"soft_max": "0.5mg", "hard_max": "1mg"},
          "bolus_per_24h": {"soft_max": "0.5mg", "hard_max": "1mg"},
          "step_rate": {"soft_max": "10mg/day", "hard_max": "20mg/day"},
          "start_dose": {"soft_max": "1mg/day", "hard_max": "10mg/day"},
          "by_opioid_tolerance": {
            "naive": {"daily_dose": {"hard_max": "1mg/day"}, "step_rate": {"hard_max": "1mg/day"},
                      "start_dose": {"soft_max": "0.2mg/day", "hard_max": "1mg/day"},
                      "bolus": {"soft_max": "0.2mg", "hard_max": "0.5mg"},
                      "bolus_per_24h": {"soft_max": "0.2mg", "hard_max": "0.5mg"}}
          },
          "titration": {"max_increase_percent": {"pain": 50}, "minimum_interval": "24h", "withdrawal_reduction_percent": 50,
                        "restart_as_start_after": "24h"},
          "sources": [
            "Infumorph labeling: 10 and 25 mg/mL; for chronic pain",
            "Infumorph labeling: intrathecal opioid-tolerant 1 to 10 mg/day, caution above 20 mg/day: daily soft 10, hard 20 mg/day",
            "Infumorph labeling: intrathecal opioid-naive 0.2 to 1 mg/day: naive daily hard 1 mg/day, start 0.2 (soft) to 1 mg/day (hard); a prescription that does not declare opioid_tolerance is naive",
            "Step rate: the daily figures (derived)",
            "Start for an opioid-tolerant patient: the bottom (soft) and top (hard) of the tolerant range (derived, unverified)",
            "Bolus: no single bolus or 24 h of boluses above half the naive daily range top for a naive patient, or the naive range top for a tolerant one (clinic defaults, unverified; the reference gives no bolus figure)",
            "Titration: +50% per change at most once per 24 h (clinic default, unverified; the reference gives no titration figure); a cut beyond 50% warns of opioid withdrawal (clinic default)",
            "Restart: opioid tolerance is lost during a stop; a pump stopped for 24 h or more restarts under the start-dose limits (clinic default, unverified)"
          ]
        },
        {
          "drug": "ziconotide",
          "dose_unit": "mcg",
          "concentrations": ["25mcg/mL", "100mcg/mL"],
          "indications": ["pain"],
          "daily_dose": {"hard_max": "19.2mcg/day"},
          "bolus": {"soft_max": "1.2mcg", "hard_max": "2.4mcg"},
          "bolus_per_24h": {"soft_max": "1.2mcg", "hard_max": "2.4mcg"},
          "step_rate": {"hard_max": "19.2mcg/day"},
          "start_dose": {"hard_max": "2.4mcg/day"},
          "titration": {
            "max_increase": "2.4mcg/day",
            "max_increases_per_window": 3,
            "increase_window": "7d",
            "minimum_interval": "48h",
            "restart_as_start_after": "24h"
          },
          "sources": [
            "Prialt labeling: 25 and 100 mcg/mL; for severe chronic pain",
            "Prialt labeling: start at most 2.4 mcg/day (start hard 2.4 mcg/day); maximum 19.2 mcg/day (daily and step rate hard 19.2 mcg/day)",
            "Prialt labeling: increase by at most 2.4 mcg/day, 2 to 3 times a week: at most 3 increases in 7 days, at least 48 h apart (the 48 h reading of 2 to 3 times a week is unverified)",
            "Bolus: the labeling gives no bolus; at most the 2.4 mcg/day starting dose in a bolus or in 24 h of boluses (clinic default, unverified)",
            "Restart: a pump stopped for 24 h or more restarts at no more than the 2.4 mcg/day starting dose (clinic default, unverified)"
          ]
        }
      ],
      "residual_tolerance": {"minimum": "0.5mL", "percent_of_expected": 20},
      "second_operator_required_for": ["concentration-change"],
      "sources": [
        "Second provider for drug changes: refill workflow practice (clinical.md, refill step 3)",
        "Residual discrepancy: 20% tolerance (older pump generation, clinical practice sources); 0.5 mL floor is a clinic default",
        "Safety limits model: FDA Generic Infusion Pump hazard analysis (Arney et al., 2009); FDA Infusion Pump Improvement Initiative (2010)"
      ]
    }
    """#
}
