# Reference values for the discrimination, threshold, calibration and logistic statistics of
# src/stats/ (roc.ts, threshold-metrics.ts, hosmer-lemeshow.ts, decision-curve.ts, logistic.ts).
#
# Written against R 4.2.2 Patched (2022-11-10 r83330) and pROC 1.18.0; the versions of the run are
# also stored in the JSON under "versions".
#
# Reads   test/stats/fixtures/binary-{separated,tied,small}.csv
#         (written by `node --import tsx scripts/stats-binary-datasets.ts`)
# Writes  test/stats/fixtures/discrimination-reference.json
# Run from the repository root: Rscript test/stats/r/discrimination.R
# then format the output as the repository does: npx prettier --write test/stats/fixtures/*.json
#
# Numbers are printed with sprintf("%.17g"), enough to restore every double exactly. Non-finite
# numbers are written as the strings "Inf", "-Inf" and "NaN", because JSON has no literal for them.

suppressPackageStartupMessages(library(pROC))

fixtures <- file.path("test", "stats", "fixtures")
cohorts <- c("separated", "tied", "small")

# ---- A small JSON writer with 17 significant digits --------------------------------------------

json_number <- function(x) {
  if (is.nan(x)) return("\"NaN\"")
  if (is.na(x)) return("null")
  if (is.infinite(x)) return(if (x > 0) "\"Inf\"" else "\"-Inf\"")
  sprintf("%.17g", x)
}

# Named lists become objects, unnamed lists arrays; numeric vectors of length 1 become numbers unless
# wrapped in I(), which keeps them arrays.
to_json <- function(x) {
  if (is.list(x)) {
    parts <- vapply(x, to_json, character(1))
    if (!is.null(names(x))) {
      keys <- sprintf("\"%s\"", names(x))
      return(paste0("{", paste(keys, parts, sep = ":", collapse = ","), "}"))
    }
    return(paste0("[", paste(parts, collapse = ","), "]"))
  }
  if (is.character(x)) {
    parts <- sprintf("\"%s\"", x)
  } else if (is.logical(x)) {
    parts <- ifelse(x, "true", "false")
  } else {
    parts <- vapply(as.numeric(x), json_number, character(1))
  }
  if (length(x) == 1 && !inherits(x, "AsIs")) return(parts)
  paste0("[", paste(parts, collapse = ","), "]")
}

# ---- Discrimination (pROC) ---------------------------------------------------------------------

roc_of <- function(labels, scores) {
  roc(labels, scores, levels = c(0, 1), direction = "<", quiet = TRUE)
}

delong_summary <- function(curve, level) {
  ci <- ci.auc(curve, conf.level = level, method = "delong")
  list(
    level = level,
    auc = as.numeric(auc(curve)),
    variance = var(curve, method = "delong"),
    lower = as.numeric(ci[1]),
    middle = as.numeric(ci[2]),
    upper = as.numeric(ci[3])
  )
}

youden_rows <- function(curve) {
  best <- coords(curve, "best", best.method = "youden", transpose = FALSE,
                 ret = c("threshold", "sensitivity", "specificity", "accuracy",
                         "tp", "fp", "tn", "fn", "ppv", "npv", "youden"))
  lapply(seq_len(nrow(best)), function(i) as.list(best[i, ]))
}

# ---- Threshold metrics (base R, positive when p >= threshold) ---------------------------------

threshold_metrics <- function(p, y, threshold) {
  predicted <- p >= threshold
  tp <- sum(predicted & y == 1)
  fp <- sum(predicted & y == 0)
  tn <- sum(!predicted & y == 0)
  fn <- sum(!predicted & y == 1)
  list(
    threshold = threshold, tp = tp, fp = fp, tn = tn, fn = fn,
    accuracy = (tp + tn) / length(y),
    sensitivity = tp / (tp + fn), specificity = tn / (tn + fp),
    ppv = tp / (tp + fp), npv = tn / (tn + fn)
  )
}

# ---- Hosmer-Lemeshow, written out as ResourceSelection::hoslem.test (0.3-5) computes it --------

hosmer_lemeshow <- function(p, y, g) {
  breaks <- unique(quantile(p, probs = seq(0, 1, 1 / g)))
  group <- cut(p, breaks = breaks, include.lowest = TRUE)
  observed <- xtabs(cbind(y0 = 1 - y, y1 = y) ~ group)
  expected <- xtabs(cbind(yhat0 = 1 - p, yhat1 = p) ~ group)
  statistic <- sum((observed - expected)^2 / expected)
  count <- as.vector(table(group))
  list(
    groupsRequested = g,
    statistic = statistic,
    degreesOfFreedom = g - 2,
    pValue = 1 - pchisq(statistic, g - 2),
    breaks = I(as.vector(breaks)),
    count = I(count),
    observed = I(as.vector(observed[, "y1"])),
    expected = I(as.vector(expected[, "yhat1"])),
    meanPredicted = I(as.vector(expected[, "yhat1"]) / count),
    observedRate = I(as.vector(observed[, "y1"]) / count)
  )
}

# ---- Decision curve (Vickers & Elkin 2006), positive when p >= pt ------------------------------

decision_curve <- function(p, y, thresholds) {
  n <- length(y)
  prevalence <- mean(y)
  model <- vapply(thresholds, function(pt) {
    treated <- p >= pt
    sum(treated & y == 1) / n - sum(treated & y == 0) / n * pt / (1 - pt)
  }, numeric(1))
  all <- prevalence - (1 - prevalence) * thresholds / (1 - thresholds)
  list(thresholds = I(thresholds), netBenefitModel = I(model), netBenefitTreatAll = I(all))
}

# ---- Logistic regression (glm) ------------------------------------------------------------------

logistic_summary <- function(fit) {
  table <- coef(summary(fit))
  list(
    coefficients = I(unname(table[, 1])),
    standardErrors = I(unname(table[, 2])),
    zValues = I(unname(table[, 3])),
    pValues = I(unname(table[, 4])),
    deviance = fit$deviance,
    nullDeviance = fit$null.deviance,
    aic = fit$aic,
    iterations = fit$iter,
    converged = fit$converged
  )
}

# ---- All statistics per cohort ------------------------------------------------------------------

reference_for <- function(name) {
  data <- read.csv(file.path(fixtures, paste0("binary-", name, ".csv")))
  y <- data$label
  curve_a <- roc_of(y, data$score_a)
  curve_b <- roc_of(y, data$score_b)
  paired <- roc.test(curve_a, curve_b, method = "delong", paired = TRUE)

  recalibration <- glm(y ~ qlogis(data$probability), family = binomial)
  # The same fit iterated to full convergence shows how far R's default stopping rule is from the
  # maximum-likelihood estimate; it is recorded, not compared.
  tight <- glm(label ~ x1 + x2 + x3, data = data, family = binomial,
               control = glm.control(epsilon = 1e-14, maxit = 100))

  list(
    n = nrow(data),
    positives = sum(y),
    echo = list(scoreA = I(data$score_a), scoreB = I(data$score_b), probability = I(data$probability)),
    roc = list(
      thresholds = I(curve_a$thresholds),
      sensitivities = I(curve_a$sensitivities),
      specificities = I(curve_a$specificities)
    ),
    delongA = list(delong_summary(curve_a, 0.95), delong_summary(curve_a, 0.9)),
    delongB = list(delong_summary(curve_b, 0.95)),
    pairedTest = list(
      aucA = as.numeric(paired$estimate[1]),
      aucB = as.numeric(paired$estimate[2]),
      z = as.numeric(paired$statistic),
      pValue = paired$p.value,
      lower = paired$conf.int[1],
      upper = paired$conf.int[2],
      level = attr(paired$conf.int, "conf.level")
    ),
    youden = youden_rows(curve_a),
    youdenB = youden_rows(curve_b),
    youdenProbability = youden_rows(roc_of(y, data$probability)),
    thresholdMetrics = lapply(c(0.404, 0.5, 0.2), function(t) threshold_metrics(data$probability, y, t)),
    hosmerLemeshow = lapply(c(10, 5), function(g) hosmer_lemeshow(data$probability, y, g)),
    hosmerLemeshowCoarse = hosmer_lemeshow(data$probability_coarse, y, 10),
    decisionCurve = decision_curve(data$probability, y, (1:99) / 100),
    decisionCurveCoarse = decision_curve(data$probability_coarse, y, (1:99) / 100),
    logistic = logistic_summary(glm(label ~ x1 + x2 + x3, data = data, family = binomial)),
    logisticTightCoefficients = I(unname(coef(tight))),
    recalibration = list(
      intercept = unname(coef(recalibration)[1]),
      slope = unname(coef(recalibration)[2])
    )
  )
}

reference <- list(
  versions = list(
    R = R.version.string,
    pROC = as.character(packageVersion("pROC"))
  ),
  generatedBy = "test/stats/r/discrimination.R",
  cohorts = setNames(lapply(cohorts, reference_for), cohorts)
)

writeLines(to_json(reference), file.path(fixtures, "discrimination-reference.json"))
cat("wrote", file.path(fixtures, "discrimination-reference.json"), "\n")
