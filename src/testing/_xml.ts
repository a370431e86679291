/**
 * Private helpers of the local STS endpoint: the XML bodies of STS Query API
 * replies, in AWS's format.
 *
 * @module
 */

/** The XML namespace of STS 2011-06-15 replies. */
export const _STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/";

/** Escapes text for an XML element or attribute. */
export function _escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => {
    switch (char) {
      case "&":
        return "&amp;";
      case "<":
        return "&lt;";
      case ">":
        return "&gt;";
      case '"':
        return "&quot;";
      default:
        return "&apos;";
    }
  });
}

/** A tree of elements: text leaves, nested objects; `undefined` members are left out. */
export interface _XmlElements {
  [name: string]: string | number | _XmlElements | undefined;
}

/** Serializes `elements` as indented XML elements (AWS pretty-prints its replies). */
export function _xmlElements(elements: _XmlElements, indent = "  "): string {
  let out = "";
  for (const [name, value] of Object.entries(elements)) {
    if (value === undefined) continue;
    if (typeof value === "object") {
      out += `${indent}<${name}>\n${
        _xmlElements(value, indent + "  ")
      }${indent}</${name}>\n`;
    } else {
      out += `${indent}<${name}>${_escapeXml(String(value))}</${name}>\n`;
    }
  }
  return out;
}

/**
 * The body of a successful reply, e.g.
 * `<AssumeRoleResponse xmlns="..."><AssumeRoleResult>...</AssumeRoleResult><ResponseMetadata>...`.
 */
export function _successXml(
  action: string,
  result: _XmlElements,
  requestId: string,
): string {
  return `<${action}Response xmlns="${_STS_XMLNS}">\n` +
    _xmlElements({
      [`${action}Result`]: result,
      ResponseMetadata: { RequestId: requestId },
    }) +
    `</${action}Response>\n`;
}

/** The body of an error reply: `<ErrorResponse><Error><Type>...</Type><Code>...`. */
export function _errorXml(
  type: "Sender" | "Receiver",
  code: string,
  message: string,
  requestId: string,
): string {
  return `<ErrorResponse xmlns="${_STS_XMLNS}">\n` +
    _xmlElements({
      Error: { Type: type, Code: code, Message: message },
      RequestId: requestId,
    }) +
    `</ErrorResponse>\n`;
}
