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
          "daily_dose": {"soft_max": "1000mcg/day", "hard_max": "2000mcg/day"},
          "bolus": {"soft_max": "100mcg", "hard_max": "200mcg"},
          "titration": {
            "max_increase_percent": {"spinal": 30, "cerebral": 15},
            "minimum_interval": "24h",
            "withdrawal_reduction_percent": 50
          },
          "sources": [
            "Lioresal Intrathecal / Gablofen labeling: concentrations 50 (screening), 500, 1000, 2000 mcg/mL",
            "Labeling: titration once per 24 h, spinal origin +10 to 30%, cerebral origin +5 to 15%",
            "Labeling: maintenance spinal 300 to 800 mcg/day, up to about 2000 mcg/day (unverified); cerebral 90 to 703 mcg/day",
            "Labeling boxed warning: abrupt discontinuation can be life threatening",
            "Screening boluses 50, 75, 100 mcg (labeling); bolus limits are clinic defaults"
          ]
        },
        {
          "drug": "morphine",
          "dose_unit": "mg",
          "concentrations": ["10mg/mL", "25mg/mL"],
          "daily_dose": {"soft_max": "10mg/day", "hard_max": "20mg/day"},
          "titration": {"minimum_interval": "24h"},
          "sources": [
            "Infumorph labeling: 10 and 25 mg/mL; intrathecal opioid-tolerant 1 to 10 mg/day, caution above 20 mg/day"
          ]
        },
        {
          "drug": "ziconotide",
          "dose_unit": "mcg",
          "concentrations": ["25mcg/mL", "100mcg/mL"],
          "daily_dose": {"hard_max": "19.2mcg/day"},
          "titration": {
            "max_increase": "2.4mcg/day",
            "max_increases_per_window": 3,
            "increase_window": "7d"
          },
          "sources": [
            "Prialt labeling: 25 and 100 mcg/mL; start at most 2.4 mcg/day; increase by at most 2.4 mcg/day, 2 to 3 times a week; maximum 19.2 mcg/day"
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
