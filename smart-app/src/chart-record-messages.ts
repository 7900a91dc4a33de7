/**
 * The texts of "Record in chart" (`chart-record.ts`), in English and Simplified Chinese. They sit
 * apart from `messages.ts` because only this section uses them.
 */

import type { Locale } from './messages.js';

export interface ChartRecordMessages {
  readonly heading: string;
  /** Status line before any record: the chart contains the service's preliminary result, or none. */
  readonly notRecorded: string;
  readonly recorded: (status: 'final' | 'amended', clinician: string, time: string) => string;
  /** Added when the latest record was made from another analysis of the same study. */
  readonly recordedFromOtherAnalysis: string;
  readonly recordButton: string;
  readonly amendButton: string;
  readonly dialogTitle: string;
  readonly dialogBody: (probability: string, predictedClass: string, series: string) => string;
  readonly dialogAmendNote: string;
  readonly dialogSigner: string;
  readonly confirm: string;
  readonly cancel: string;
  readonly saving: string;
  readonly saved: (status: 'final' | 'amended') => string;
  readonly noProbability: string;
  readonly noClinician: string;
  /** Reason the record failed, from the service's HTTP status and error code. */
  readonly failure: (status: number, code: string | undefined) => string;
  readonly unknownClinician: string;
}

const EN: ChartRecordMessages = {
  heading: 'Record in chart',
  notRecorded:
    'No clinician has recorded this result in the chart yet. Until then the chart shows it as preliminary, if at all.',
  recorded: (status, clinician, time) =>
    `${status === 'amended' ? 'Amended' : 'Recorded as final'} in the chart by ${clinician} on ${time}.`,
  recordedFromOtherAnalysis: 'That record was made from another analysis of this study.',
  recordButton: 'Record in chart…',
  amendButton: 'Amend the chart record…',
  dialogTitle: 'Record this result in the chart?',
  dialogBody: (probability, predictedClass, series) =>
    `Probability ${probability} (${predictedClass}), from series ${series}. The result is written to this ` +
    "patient's chart as final in place of the earlier entry, and the EHR keeps the earlier version.",
  dialogAmendNote: 'The chart already holds a final result for this study; it will be marked as amended.',
  dialogSigner: 'The record names you, as signed in to the EHR, as the clinician who confirmed it.',
  confirm: 'Record as final',
  cancel: 'Cancel',
  saving: 'Recording in the chart…',
  saved: (status) =>
    status === 'amended' ? 'The chart record was amended.' : 'The result was recorded in the chart as final.',
  noProbability:
    'This result has no probability, so it cannot be recorded as final. The model must be calibrated for this site first.',
  noClinician:
    'Only a clinician signed in to the EHR can record a result. Launch the app from the EHR with your own account.',
  failure: (status, code) => {
    if (status === 401) return 'Your session ended. Open the app again from the EHR, then record again.';
    if (code === 'ERR_CHART_WRITE_REFUSED')
      return "The EHR refused the write: your account or this app may not write to this patient's chart. Ask the EHR administrator.";
    if (code === 'ERR_CHART_CHANGED')
      return 'The chart changed while you were recording. Reload the app to see the current chart, then record again.';
    if (code === 'ERR_CHART_PROVENANCE_FAILED')
      return 'The result is now in the chart as final, but the EHR did not store who confirmed it. Record again to add that.';
    if (code === 'ERR_RESULT_NOT_RECORDABLE') return 'This result cannot be recorded: it has no probability.';
    if (code === 'ERR_PATIENT_CONFLICT')
      return 'The chart holds this study under another patient record. Nothing was written; tell hospital IT.';
    // A timeout or a lost connection may come after the FHIR server applied the write.
    if (status === 0)
      return 'No answer came from the NQO1 service, so the chart may or may not have changed. Reload the app to see the chart before you record again.';
    return `The record failed (HTTP ${status}${code === undefined ? '' : `, ${code}`}), and the chart may or may not have changed. Reload the app to see the chart before you record again, or tell hospital IT if it repeats.`;
  },
  unknownClinician: 'a clinician',
};

const ZH_CN: ChartRecordMessages = {
  heading: '记入病历',
  notRecorded: '尚无医生将此结果记入病历。在此之前，病历中即使有此结果，也只是初步结果。',
  recorded: (status, clinician, time) =>
    `${clinician} 于 ${time} ${status === 'amended' ? '修订了病历中的记录' : '已将其作为最终结果记入病历'}。`,
  recordedFromOtherAnalysis: '该记录来自本检查的另一次分析。',
  recordButton: '记入病历…',
  amendButton: '修订病历记录…',
  dialogTitle: '将此结果记入病历？',
  dialogBody: (probability, predictedClass, series) =>
    `概率 ${probability}（${predictedClass}），来自序列 ${series}。结果将作为最终结果写入该患者的病历，替换之前的记录；EHR 会保留之前的版本。`,
  dialogAmendNote: '病历中已有本检查的最终结果，该结果将被标记为已修订。',
  dialogSigner: '记录中会写明您（当前登录 EHR 的用户）为确认该结果的医生。',
  confirm: '作为最终结果记录',
  cancel: '取消',
  saving: '正在记入病历…',
  saved: (status) => (status === 'amended' ? '病历记录已修订。' : '结果已作为最终结果记入病历。'),
  noProbability: '此结果没有概率，不能作为最终结果记录。须先针对本院校准模型。',
  noClinician: '只有登录 EHR 的医生才能记录结果。请用您本人的账号从 EHR 启动本应用。',
  failure: (status, code) => {
    if (status === 401) return '会话已结束。请从 EHR 重新打开本应用，然后再次记录。';
    if (code === 'ERR_CHART_WRITE_REFUSED')
      return 'EHR 拒绝了写入：您的账号或本应用无权写入该患者的病历。请联系 EHR 管理员。';
    if (code === 'ERR_CHART_CHANGED')
      return '记录期间病历已被更改。请重新加载本应用查看当前病历，然后再次记录。';
    if (code === 'ERR_CHART_PROVENANCE_FAILED')
      return '结果已作为最终结果记入病历，但 EHR 未保存确认医生的信息。请再次记录以补上。';
    if (code === 'ERR_RESULT_NOT_RECORDABLE') return '此结果没有概率，不能记录。';
    if (code === 'ERR_PATIENT_CONFLICT')
      return '病历中该检查属于另一份患者记录。未写入任何内容，请告知医院信息科。';
    if (status === 0)
      return 'NQO1 服务没有应答，病历可能已更改，也可能未更改。请重新加载本应用查看病历后再记录。';
    return `记录失败（HTTP ${status}${code === undefined ? '' : `，${code}`}），病历可能已更改，也可能未更改。请重新加载本应用查看病历后再记录；如反复出现请告知医院信息科。`;
  },
  unknownClinician: '一位医生',
};

/** Returns the texts of "Record in chart" in `locale`. */
export function chartRecordMessages(locale: Locale): ChartRecordMessages {
  return locale === 'zh-CN' ? ZH_CN : EN;
}
