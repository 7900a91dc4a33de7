/**
 * One-line descriptions of every error code for people, in English and Simplified Chinese. The
 * detailed message of an error stays in English (it quotes DICOM keywords, paths and values);
 * this text gives a Chinese-speaking user the kind of problem. The record type makes a new
 * code without a Chinese description a compile error.
 */
import { ERROR_CODES, type ErrorCode } from './errors.js';

const ZH_CN: Readonly<Record<ErrorCode, string>> = {
  ERR_DICOM_MALFORMED: 'DICOM 文件无法解析。',
  ERR_DICOM_UNSUPPORTED: '该 DICOM 对象使用了本版本无法读取的编码或 SOP 类。',
  ERR_SERIES_EMPTY: '未找到所请求序列的任何图像。',
  ERR_SERIES_GEOMETRY: '各层图像无法组成一个规则的容积。',
  ERR_SERIES_MIXED: '文件分属多个序列、检查或参考坐标系。',
  ERR_REQUESTED_SERIES_INVALID: '所请求的序列不是该检查中的 CT 序列。',
  ERR_NRRD_MALFORMED: 'NRRD 文件无法解析。',
  ERR_NIFTI_MALFORMED: 'NIfTI 文件无法解析。',
  ERR_INPUT_TOO_LARGE: '输入超过了配置的大小上限（体素数、字节数或实例数）。',
  ERR_IMAGE_VALUES: '感兴趣区内的图像包含无法使用的数值（NaN 或无穷大）。',
  ERR_MASK_EMPTY: '掩膜中没有所请求标签的体素。',
  ERR_MASK_GEOMETRY: '掩膜与图像网格不一致。',
  ERR_SEG_MALFORMED: 'DICOM SEG 对象不完整或前后矛盾。',
  ERR_RTSTRUCT_MALFORMED: 'RT 结构集不完整，或引用了不存在的图像。',
  ERR_SEGMENTATION_MISSING: '该检查中没有所选 CT 序列的分割。',
  ERR_REQUESTED_SEGMENTATION_INVALID: '所请求的分割不是该检查中的 SEG 或 RTSTRUCT 实例。',
  ERR_SEGMENT_SELECTION: '分割中没有唯一符合要求的分段。',
  ERR_ROI_TOO_SMALL: '感兴趣区的维度或体素数不足以计算纹理特征。',
  ERR_SETTINGS_INVALID: '影像组学参数设置无效。',
  ERR_TOO_MANY_GRAY_LEVELS: '离散化后的灰度级数超过引擎允许的上限。',
  ERR_MODEL_CARD_INVALID: '模型卡不符合模型卡规范。',
  ERR_MODEL_FEATURE_MISSING: '模型所需的某个特征未能计算。',
  ERR_CALIBRATION_COHORT: '该队列无法得出所需的标准化参数、拟合结果或统计量。',
  ERR_MODEL_NOT_CALIBRATED: '模型卡无法给出概率：缺少本院标准化参数或系数。',
  ERR_CONFIG_INVALID: '配置不符合其规范。',
  ERR_REQUEST_INVALID: '请求无效。',
  ERR_REQUEST_TOO_LARGE: '请求内容超过本服务的大小上限。',
  ERR_UNAUTHORIZED: '请求未获授权。',
  ERR_PREFETCH_MISSING: 'Hook 请求缺少本服务所需的预取数据。',
  ERR_URL_NOT_ALLOWED: '该 URL 不在配置的允许列表中。',
  ERR_NOT_FOUND: '所请求的资源不存在。',
  ERR_NOT_IMPLEMENTED: '本版本尚未实现此功能。',
  ERR_DICOMWEB_FAILED: 'DICOMweb 服务器未返回所请求的内容。',
  ERR_FHIR_FAILED: 'FHIR 服务器未返回所请求的内容。',
  ERR_FHIR_REJECTED: 'FHIR 服务器拒绝了结果回写，重复发送无法解决。',
  ERR_FHIR_ACCESS_DENIED: 'FHIR 服务器拒绝了该访问令牌对所请求资源的访问。',
  ERR_FHIR_TOKEN_REJECTED: 'FHIR 服务器认定该访问令牌已过期或无效。',
  ERR_STORE_UNAVAILABLE: '结果存储或任务队列数据库没有响应。',
  ERR_ANALYSIS_ACCESS_DENIED: '用该访问令牌读取的 ImagingStudy 与已存分析的检查或患者不一致。',
  ERR_ANALYSIS_NOT_LINKED: '已存分析尚未关联到 EHR 中的影像检查和患者。',
  ERR_PATIENT_CONFLICT: '该检查或其已存结果属于另一份患者记录。',
  ERR_RESULT_NOT_RECORDABLE: '该分析没有可由医生记入病历的概率。',
  ERR_CHART_CHANGED: '病历中的该 Observation 在结果显示之后已被更改。',
  ERR_CHART_WRITE_REFUSED: 'FHIR 服务器拒绝了医生写入病历的请求。',
  ERR_CHART_PROVENANCE_FAILED: '结果已记入病历，但注明确认医生的 Provenance 未能写入。',
  ERR_INTERNAL: '发生了意外的内部错误。',
};

/** Returns the one-line description of an error code in the locale. */
export function errorCodeText(code: ErrorCode, locale: 'en' | 'zh-CN'): string {
  return locale === 'zh-CN' ? ZH_CN[code] : ERROR_CODES[code];
}
