/**
 * What a failed analysis means for the clinician, per error code of the service (`src/errors.ts`),
 * in English and Simplified Chinese: what went wrong, and who can mend it. The service stores the
 * detailed failure message in English only, because it quotes DICOM keywords, UIDs and values. The
 * app shows that message under "technical details" for hospital IT.
 */

import type { Locale } from './messages.js';

/** The localized explanation of one failure code. */
export interface FailureText {
  /** The failure, in clinical terms. */
  readonly explanation: string;
  /** The next step, and who takes it. */
  readonly action: string;
}

type FailureTable = Readonly<Record<string, FailureText>>;

/** Step shared by the failures that radiology or PACS staff mend in the study. */
const EN_AFTER_FIX =
  'After the fix, the study is analysed again the next time the record is opened, once the wait set by the site has passed.';
const ZH_AFTER_FIX = '修正后，待本院设定的等待时间过去，再次打开病历时会重新分析该检查。';

const EN: FailureTable = {
  ERR_SEGMENTATION_MISSING: {
    explanation:
      'The study has no tumour segmentation (DICOM SEG or RTSTRUCT) of the arterial-phase CT series.',
    action: `Ask radiology to segment the tumour on that series and store the segmentation in the PACS. ${EN_AFTER_FIX}`,
  },
  ERR_REQUESTED_SEGMENTATION_INVALID: {
    explanation: 'The segmentation chosen in this app is not a SEG or RTSTRUCT of this study.',
    action: 'Choose another segmentation, or ask radiology which one outlines the tumour.',
  },
  ERR_SEGMENT_SELECTION: {
    explanation: 'The segmentation has several segments, and none is clearly the tumour.',
    action: `Ask radiology to label the tumour segment, or to store a segmentation with the tumour only. ${EN_AFTER_FIX}`,
  },
  ERR_MASK_EMPTY: {
    explanation: 'The tumour segmentation contains no voxel.',
    action: `Ask radiology to check the segmentation and store a corrected one. ${EN_AFTER_FIX}`,
  },
  ERR_MASK_GEOMETRY: {
    explanation: 'The tumour segmentation does not lie on the slices of the CT series it refers to.',
    action: `Ask radiology to segment the tumour again on the arterial-phase series itself. ${EN_AFTER_FIX}`,
  },
  ERR_SEG_MALFORMED: {
    explanation: 'The DICOM SEG object is incomplete or inconsistent.',
    action: `Ask radiology to export the segmentation again. ${EN_AFTER_FIX}`,
  },
  ERR_RTSTRUCT_MALFORMED: {
    explanation: 'The RT Structure Set is incomplete or refers to images that are not in the study.',
    action: `Ask radiology to export the structure set again. ${EN_AFTER_FIX}`,
  },
  ERR_ROI_TOO_SMALL: {
    explanation: 'The tumour region is too small for the texture features of the model.',
    action: 'The model cannot score this lesion. Check in the viewer that the right lesion was outlined.',
  },
  ERR_SERIES_EMPTY: {
    explanation: 'No image of the chosen CT series was found in the PACS.',
    action: 'Ask PACS staff whether the series was archived completely, or choose another series.',
  },
  ERR_SERIES_GEOMETRY: {
    explanation:
      'The slices of the CT series do not form one regular volume (gaps, overlaps or mixed orientations).',
    action: 'Choose another arterial-phase series, or ask PACS staff to check the series.',
  },
  ERR_SERIES_MIXED: {
    explanation: 'The images belong to more than one series, study or frame of reference.',
    action: 'Ask PACS staff to check the study; hospital IT can see the UIDs in the technical details.',
  },
  ERR_REQUESTED_SERIES_INVALID: {
    explanation: 'The series chosen in this app is not a CT series of this study.',
    action: 'Choose an arterial-phase CT series of the study.',
  },
  ERR_DICOM_MALFORMED: {
    explanation: 'A DICOM file of the study could not be read.',
    action: 'Ask PACS staff to check the study; hospital IT can see the file in the technical details.',
  },
  ERR_DICOM_UNSUPPORTED: {
    explanation: 'The study uses a DICOM encoding or object type that this release cannot read.',
    action: 'Tell hospital IT, and quote the technical details below.',
  },
  ERR_INPUT_TOO_LARGE: {
    explanation: 'The series is larger than the limits the site configured for one analysis.',
    action: 'Tell hospital IT, who can raise the limit or choose a smaller series.',
  },
  ERR_IMAGE_VALUES: {
    explanation: 'The CT images contain values that cannot be used (not a number) inside the tumour region.',
    action: 'Ask PACS staff to check the series, or choose another series.',
  },
  ERR_SETTINGS_INVALID: {
    explanation: 'The radiomics settings of the model card are invalid.',
    action: 'Tell hospital IT: the model card must be corrected.',
  },
  ERR_TOO_MANY_GRAY_LEVELS: {
    explanation: 'The CT values in the region span more gray levels than the feature engine allows.',
    action: 'Tell hospital IT, and quote the technical details below.',
  },
  ERR_MODEL_CARD_INVALID: {
    explanation: 'The model card of this site is invalid.',
    action: 'Tell hospital IT: the model card must be corrected.',
  },
  ERR_MODEL_FEATURE_MISSING: {
    explanation: 'A feature that the model needs could not be computed.',
    action: 'Tell hospital IT, and quote the technical details below.',
  },
  ERR_DICOMWEB_FAILED: {
    explanation: 'The PACS did not return the images in time or answered with an error.',
    action: `Try again later. ${EN_AFTER_FIX} If it persists, tell hospital IT.`,
  },
};

const ZH_CN: FailureTable = {
  ERR_SEGMENTATION_MISSING: {
    explanation: '该检查中没有动脉期 CT 序列的肿瘤分割（DICOM SEG 或 RTSTRUCT）。',
    action: `请放射科在该序列上勾画肿瘤，并将分割存入 PACS。${ZH_AFTER_FIX}`,
  },
  ERR_REQUESTED_SEGMENTATION_INVALID: {
    explanation: '在本应用中选择的分割不是该检查的 SEG 或 RTSTRUCT。',
    action: '请选择其他分割，或向放射科确认哪一个勾画了肿瘤。',
  },
  ERR_SEGMENT_SELECTION: {
    explanation: '该分割包含多个分段，无法确定哪一个是肿瘤。',
    action: `请放射科标注肿瘤分段，或存储仅含肿瘤的分割。${ZH_AFTER_FIX}`,
  },
  ERR_MASK_EMPTY: {
    explanation: '肿瘤分割中没有任何体素。',
    action: `请放射科检查该分割并存储修正后的分割。${ZH_AFTER_FIX}`,
  },
  ERR_MASK_GEOMETRY: {
    explanation: '肿瘤分割与其所引用 CT 序列的层面不一致。',
    action: `请放射科直接在动脉期序列上重新勾画肿瘤。${ZH_AFTER_FIX}`,
  },
  ERR_SEG_MALFORMED: {
    explanation: 'DICOM SEG 对象不完整或前后矛盾。',
    action: `请放射科重新导出该分割。${ZH_AFTER_FIX}`,
  },
  ERR_RTSTRUCT_MALFORMED: {
    explanation: 'RT 结构集不完整，或引用了检查中不存在的图像。',
    action: `请放射科重新导出该结构集。${ZH_AFTER_FIX}`,
  },
  ERR_ROI_TOO_SMALL: {
    explanation: '肿瘤区域过小，无法计算模型所需的纹理特征。',
    action: '模型无法对该病灶评分。请在阅片器中确认勾画的是正确病灶。',
  },
  ERR_SERIES_EMPTY: {
    explanation: '在 PACS 中未找到所选 CT 序列的任何图像。',
    action: '请向 PACS 管理人员确认该序列是否已完整归档，或选择其他序列。',
  },
  ERR_SERIES_GEOMETRY: {
    explanation: '该 CT 序列的各层无法组成一个规则容积（有缺层、重叠或方向不一）。',
    action: '请选择其他动脉期序列，或请 PACS 管理人员检查该序列。',
  },
  ERR_SERIES_MIXED: {
    explanation: '这些图像分属多个序列、检查或参考坐标系。',
    action: '请 PACS 管理人员检查该检查；医院信息科可在技术细节中查看相关 UID。',
  },
  ERR_REQUESTED_SERIES_INVALID: {
    explanation: '在本应用中选择的序列不是该检查的 CT 序列。',
    action: '请选择该检查的动脉期 CT 序列。',
  },
  ERR_DICOM_MALFORMED: {
    explanation: '该检查中有 DICOM 文件无法读取。',
    action: '请 PACS 管理人员检查该检查；医院信息科可在技术细节中查看该文件。',
  },
  ERR_DICOM_UNSUPPORTED: {
    explanation: '该检查使用了本版本无法读取的 DICOM 编码或对象类型。',
    action: '请联系医院信息科，并提供下方的技术细节。',
  },
  ERR_INPUT_TOO_LARGE: {
    explanation: '该序列超出了本院为单次分析配置的上限。',
    action: '请联系医院信息科，由其提高上限或选择较小的序列。',
  },
  ERR_IMAGE_VALUES: {
    explanation: '肿瘤区域内的 CT 图像含有无法使用的数值（非数字）。',
    action: '请 PACS 管理人员检查该序列，或选择其他序列。',
  },
  ERR_SETTINGS_INVALID: {
    explanation: '模型卡中的影像组学参数设置无效。',
    action: '请联系医院信息科修正模型卡。',
  },
  ERR_TOO_MANY_GRAY_LEVELS: {
    explanation: '区域内 CT 值的灰度级数超过特征引擎允许的上限。',
    action: '请联系医院信息科，并提供下方的技术细节。',
  },
  ERR_MODEL_CARD_INVALID: {
    explanation: '本院的模型卡无效。',
    action: '请联系医院信息科修正模型卡。',
  },
  ERR_MODEL_FEATURE_MISSING: {
    explanation: '模型所需的某个特征未能计算。',
    action: '请联系医院信息科，并提供下方的技术细节。',
  },
  ERR_DICOMWEB_FAILED: {
    explanation: 'PACS 未能按时返回图像，或返回了错误。',
    action: `请稍后重试。${ZH_AFTER_FIX}如持续出现，请联系医院信息科。`,
  },
};

/** Text for a code without an entry, such as `ERR_INTERNAL` or a code of a newer service. */
const FALLBACK: Readonly<Record<Locale, FailureText>> = {
  en: {
    explanation: 'The service stopped the analysis with an error that this app does not describe.',
    action: 'Tell hospital IT, and quote the technical details below.',
  },
  'zh-CN': {
    explanation: '服务因本应用未说明的错误停止了分析。',
    action: '请联系医院信息科，并提供下方的技术细节。',
  },
};

/** Returns the explanation of a failure code in `locale`, or a generic one for an unknown code. */
export function failureText(code: string, locale: Locale): FailureText {
  const table = locale === 'zh-CN' ? ZH_CN : EN;
  // Own keys only: a stored code such as "constructor" must not reach Object.prototype.
  return Object.hasOwn(table, code) ? table[code]! : FALLBACK[locale];
}

/** Codes with an explanation; the same in both languages, which a test checks. */
export function explainedFailureCodes(locale: Locale): readonly string[] {
  return Object.keys(locale === 'zh-CN' ? ZH_CN : EN);
}
