# Reference values for the survival statistics (src/stats/kaplan-meier.ts, log-rank.ts, cox.ts).
#
# Reads the cohorts written by scripts/survival-datasets.ts (test/stats/fixtures/survival-*.csv)
# and writes test/stats/fixtures/survival-reference.json with every number at 17 significant
# digits (sprintf("%.17g"), because jsonlite rounds to 15), NA as null.
#
# Made with R 4.2.2 Patched (2022-11-10 r83330) and survival 3.5.3; the JSON records the versions.
# Run from the repository root:  Rscript test/stats/r/survival.R
#
# Calls: survfit(Surv(time, event) ~ 1) and ~ group with default options (Greenwood variance,
# conf.type = "log", conf.int = 0.95), summary(fit)$table for the median and its limits;
# survdiff(Surv(time, event) ~ group) (rho = 0); coxph(Surv(time, event) ~ ...) with its defaults
# (ties = "efron") and summary(fit).

suppressPackageStartupMessages(library(survival))

fixtures <- file.path("test", "stats", "fixtures")

# ---- a minimal JSON writer with full precision ------------------------------------------------
as_array <- function(x) structure(x, class = c("json_array", class(x)))

to_json <- function(x) {
  if (is.list(x)) {
    if (!is.null(names(x))) {
      parts <- vapply(names(x), function(n) paste0('"', n, '":', to_json(x[[n]])), "")
      return(paste0("{", paste(parts, collapse = ","), "}"))
    }
    return(paste0("[", paste(vapply(x, to_json, ""), collapse = ","), "]"))
  }
  is_array <- inherits(x, "json_array") || length(x) != 1
  values <- vapply(unclass(x), function(v) {
    if (is.character(v)) return(paste0('"', v, '"'))
    if (is.logical(v) && !is.na(v)) return(if (v) "true" else "false")
    if (is.na(v) || !is.finite(v)) return("null")
    sprintf("%.17g", v)
  }, "")
  if (is_array) paste0("[", paste(values, collapse = ","), "]") else values
}

# ---- helpers ----------------------------------------------------------------------------------
read_cohort <- function(name) {
  read.csv(file.path(fixtures, paste0(name, ".csv")), stringsAsFactors = FALSE)
}

km_steps <- function(fit) {
  list(
    time = as_array(fit$time),
    atRisk = as_array(fit$n.risk),
    events = as_array(fit$n.event),
    censored = as_array(fit$n.censor),
    survival = as_array(fit$surv),
    # Standard error of S(t) as summary.survfit prints it; NaN (-> null) where S = 0.
    standardError = as_array(fit$std.err * fit$surv),
    lower = as_array(fit$lower),
    upper = as_array(fit$upper)
  )
}

km_median <- function(table_row) {
  list(value = table_row[["median"]], lower = table_row[["0.95LCL"]], upper = table_row[["0.95UCL"]])
}

kaplan_meier <- function(d, conf_int = 0.95) {
  fit <- survfit(Surv(time, event) ~ 1, data = d, conf.int = conf_int)
  table <- summary(fit)$table
  limits <- paste0(conf_int, c("LCL", "UCL"))
  median <- list(value = table[["median"]], lower = table[[limits[1]]], upper = table[[limits[2]]])
  c(km_steps(fit), list(median = median))
}

kaplan_meier_by_group <- function(d) {
  fit <- survfit(Surv(time, event) ~ group, data = d)
  table <- summary(fit)$table
  lapply(seq_along(fit$strata), function(i) {
    label <- sub("^group=", "", names(fit$strata)[i])
    c(list(group = label, n = fit$n[i]), km_steps(fit[i]), list(median = km_median(table[i, ])))
  })
}

log_rank <- function(d, column) {
  groups <- d[[column]]
  fit <- survdiff(Surv(d$time, d$event) ~ groups)
  labels <- sub("^groups=", "", names(fit$n))
  list(
    statistic = fit$chisq,
    degreesOfFreedom = sum(fit$exp > 0) - 1,
    pValue = fit$pvalue,
    groups = lapply(seq_along(labels), function(i) {
      list(group = labels[i], n = as.numeric(fit$n[i]), observed = fit$obs[i], expected = fit$exp[i])
    }),
    variance = lapply(seq_len(nrow(fit$var)), function(i) as_array(fit$var[i, ]))
  )
}

cox <- function(d, formula) {
  d$high <- as.numeric(d$group == "high")
  fit <- coxph(formula, data = d)
  s <- summary(fit)
  co <- s$coefficients
  ci <- s$conf.int
  list(
    formula = paste(deparse(formula), collapse = ""),
    coefficients = as_array(unname(co[, "coef"])),
    hazardRatios = as_array(unname(co[, "exp(coef)"])),
    standardErrors = as_array(unname(co[, "se(coef)"])),
    zValues = as_array(unname(co[, "z"])),
    pValues = as_array(unname(co[, "Pr(>|z|)"])),
    ciLower = as_array(unname(ci[, "lower .95"])),
    ciUpper = as_array(unname(ci[, "upper .95"])),
    variance = lapply(seq_len(nrow(fit$var)), function(i) as_array(fit$var[i, ])),
    logLikelihood = as_array(fit$loglik),
    likelihoodRatio = list(statistic = s$logtest[["test"]], df = s$logtest[["df"]], pValue = s$logtest[["pvalue"]]),
    # summary() rounds the Wald statistic to 2 decimals for printing, so take it from the fit.
    wald = list(statistic = unname(fit$wald.test), df = s$waldtest[["df"]], pValue = s$waldtest[["pvalue"]]),
    score = list(statistic = s$sctest[["test"]], df = s$sctest[["df"]], pValue = s$sctest[["pvalue"]]),
    iterations = fit$iter,
    concordance = list(
      value = fit$concordance[["concordance"]],
      concordant = fit$concordance[["concordant"]],
      discordant = fit$concordance[["discordant"]],
      tiedRisk = fit$concordance[["tied.x"]],
      tiedTime = fit$concordance[["tied.y"]] + fit$concordance[["tied.xy"]]
    )
  )
}

# ---- the reference ---------------------------------------------------------------------------
tied <- read_cohort("survival-tied-n80")
exponential <- read_cohort("survival-exponential-n300")
half <- read_cohort("survival-half-n30")

# Monotone likelihood: no death among the "high" cases, so coxph's coefficient runs to -infinity.
monotone <- data.frame(
  time = c(5, 8, 12, 20, 25, 30, 40, 45, 50, 60),
  event = c(1, 1, 1, 0, 1, 0, 0, 0, 0, 0),
  group = c("low", "low", "low", "low", "low", "high", "high", "high", "high", "high")
)
monotone$high <- as.numeric(monotone$group == "high")
monotone_warning <- NULL
monotone_fit <- withCallingHandlers(
  coxph(Surv(time, event) ~ high, data = monotone),
  warning = function(w) {
    monotone_warning <<- conditionMessage(w)
    invokeRestart("muffleWarning")
  }
)

reference <- list(
  generatedBy = "test/stats/r/survival.R",
  rVersion = R.version.string,
  survivalVersion = as.character(packageVersion("survival")),
  kaplanMeier = list(
    tied = kaplan_meier(tied),
    exponential = kaplan_meier(exponential),
    half = kaplan_meier(half),
    tiedLevel90 = kaplan_meier(tied, conf_int = 0.9)
  ),
  kaplanMeierByGroup = list(
    tied = kaplan_meier_by_group(tied),
    exponential = kaplan_meier_by_group(exponential)
  ),
  logRank = list(
    tiedByGroup = log_rank(tied, "group"),
    tiedByStage = log_rank(tied, "stage"),
    exponentialByGroup = log_rank(exponential, "group"),
    exponentialByStage = log_rank(exponential, "stage")
  ),
  cox = list(
    tiedGroup = cox(tied, Surv(time, event) ~ high),
    tiedGroupScore = cox(tied, Surv(time, event) ~ high + score),
    exponentialGroup = cox(exponential, Surv(time, event) ~ high),
    exponentialGroupScore = cox(exponential, Surv(time, event) ~ high + score),
    halfGroupScore = cox(half, Surv(time, event) ~ high + score)
  ),
  monotone = list(
    time = as_array(monotone$time),
    event = as_array(monotone$event),
    high = as_array(monotone$high),
    coefficient = unname(coef(monotone_fit)),
    warning = monotone_warning
  )
)

writeLines(to_json(reference), file.path(fixtures, "survival-reference.json"))
cat("Wrote", file.path(fixtures, "survival-reference.json"), "\n")
